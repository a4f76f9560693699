"""Emulated module: leads (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
