"""Emulated module: direct (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
