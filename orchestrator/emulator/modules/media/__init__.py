"""Emulated module: media (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
