"""Emulated module: ai_dm (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
