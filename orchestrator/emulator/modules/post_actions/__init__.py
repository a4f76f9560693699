"""Emulated module: post_actions (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
