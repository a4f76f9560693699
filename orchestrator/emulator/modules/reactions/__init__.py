"""Emulated module: reactions (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
