"""The plan's JSON Schema: the shipped template (``plan-schema.json`` beside this module) with
the names that would drift filled in from the registry of kinds and the vocabulary.

``kind``, ``action`` and the blocked ``reason`` are enums of `Kind`, `Action` and the blocked
reasons, so adding a kind or an action changes the schema by itself. ``docs/plan-schema.json``
is this function's output, kept equal by a test; regenerate it with
``python -m orchestrator.plan.schema > docs/plan-schema.json``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from orchestrator.contract import Kind
from orchestrator.contract.vocabulary import Action
from orchestrator.plan.blocked import REASONS

TEMPLATE = Path(__file__).resolve().parent / "plan-schema.json"


@cache
def _schema_text() -> str:
    schema = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    schema["$defs"] = {
        "kind": {"enum": [k.value for k in Kind], "description": "A managed kind."},
        "action": {"enum": [a.value for a in Action],
                   "description": "What a change does, in the order actions run within one account."},
        "reason": {"enum": list(REASONS)},
        **schema["$defs"],
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def plan_schema() -> dict[str, Any]:
    """The plan's JSON Schema (a fresh copy: callers may change it)."""
    loaded: dict[str, Any] = json.loads(_schema_text())
    return loaded


def schema_text() -> str:
    """The schema as ``docs/plan-schema.json`` holds it."""
    return _schema_text()


if __name__ == "__main__":
    print(schema_text(), end="")
