"""The plan as JSON: complete and per change (``docs/plan-schema.json``), for tools and ``apply --plan``."""

from __future__ import annotations

import io
import json
from typing import TextIO

from orchestrator.plan import Plan

_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
_BATCH = 1 << 16  # characters written at a time


def write_json(plan: Plan, out: TextIO) -> None:
    """Write the plan's JSON document, indented for diffs, to ``out`` as it is encoded.

    Why not ``out.write(json.dumps(...))``: with ``indent`` the standard encoder builds the
    text from millions of small pieces held at once; for a plan of 100,000 accounts (~80 MB
    of JSON) that was ~460 MB, more than the whole plan run otherwise needed. Written in
    batches, the text never exists whole."""
    pending: list[str] = []
    size = 0
    for chunk in _ENCODER.iterencode(plan.to_json()):
        pending.append(chunk)
        size += len(chunk)
        if size >= _BATCH:
            out.write("".join(pending))
            pending.clear()
            size = 0
    out.write("".join(pending))


def render_json(plan: Plan) -> str:
    """The plan's JSON document as one string (`write_json` for large plans)."""
    out = io.StringIO()
    write_json(plan, out)
    return out.getvalue()
