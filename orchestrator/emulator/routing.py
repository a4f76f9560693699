"""``ModuleRouter``: an APIRouter that tags each route with the module that gates it.

The module is written into the OpenAPI document as ``x-module`` so the test suite can
generate the module-gate (403) and cross-user (404) checks from the route table: a new
route cannot skip them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter


class ModuleRouter(APIRouter):
    def __init__(self, module: str | None, tag: str, **kwargs: Any) -> None:
        super().__init__(tags=[tag], **kwargs)
        self.module = module

    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        extra = dict(kwargs.pop("openapi_extra", None) or {})
        extra.setdefault("x-module", self.module)
        super().add_api_route(path, endpoint, openapi_extra=extra, **kwargs)
