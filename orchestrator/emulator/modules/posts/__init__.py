"""Emulated module: posts (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
