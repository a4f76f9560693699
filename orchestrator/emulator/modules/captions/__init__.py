"""Emulated module: captions (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
