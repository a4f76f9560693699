"""Emulated module: welcomedm (not built yet)."""

from fastapi import APIRouter

router = APIRouter()
