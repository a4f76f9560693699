"""Emulated module: repost (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
