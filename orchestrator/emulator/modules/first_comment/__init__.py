"""Emulated module: first_comment (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
