"""The plan as JSON: complete and per change (``docs/plan-schema.json``), for tools and ``apply --plan``."""

from __future__ import annotations

import json

from orchestrator.plan import Plan


def render_json(plan: Plan) -> str:
    """The plan's JSON document, indented for diffs."""
    return json.dumps(plan.to_json(), indent=2, ensure_ascii=False, default=str)
