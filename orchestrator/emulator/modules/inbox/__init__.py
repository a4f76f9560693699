"""Emulated module: inbox (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
