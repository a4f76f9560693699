"""Reading a saved plan (``plan --out``) back for ``apply --plan``, trusting nothing in it.

A saved plan travels: it is attached to a pull request, copied between machines, and read
back perhaps days later. Before anything runs, the file must be

1. small enough (`MAX_PLAN_BYTES`), UTF-8, and strict JSON (no ``NaN``);
2. intact: its ``checksum`` is the SHA-256 of the canonical JSON of everything else, so a
   truncated or carelessly edited file is refused. It is no signature: anyone who edits a
   plan can compute it again. What binds a plan to what was reviewed is apply's own check
   (``orchestrator.apply.run.bound_to_playbook``): the playbook given must be the one the plan
   was made from, and every saved change must be one that playbook's plan makes against the
   live state now, or the whole plan is refused before any write;
3. of the documented shape: valid against the plan schema (`orchestrator.plan.schema`: the
   template shipped inside the package with the kinds and actions filled in; ``docs/plan-schema.json``
   is a copy), checked with jsonschema-rs;
4. made of changes some kind can carry out: each (kind, action, path) is one the kinds produce
   (`KNOWN_CHANGES`) and maps to an operation. A change no kind can carry out is refused,
   never skipped and reported applied.

Every refusal is one `SavedPlanError` line saying what to do (run ``plan --out`` again).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs

from orchestrator.kinds.registry import KindRegistry
from orchestrator.plan import Plan, plan_checksum
from orchestrator.plan.schema import plan_schema

MAX_PLAN_BYTES = 8 * 1024 * 1024  # about 20,000 changes; the worst JSON this size stays near 250 MB
AGAIN = "run `orchestrator plan --out FILE` again and review it"

#: What each kind's diff produces: kind -> action -> the paths it carries out (`KindHandler.changes`).
KNOWN_CHANGES: dict[str, dict[str, re.Pattern[str]]] = {
    kind.value: {action.value: pattern for action, pattern in KindRegistry.default()[kind].changes.items()}
    for kind in KindRegistry.default()
}


class SavedPlanError(Exception):
    """A saved plan that must not be applied; the message is one line."""


def load_saved_plan(path: str | Path) -> Plan:
    """The plan saved at ``path``, checked as the module docstring says."""
    data = _read(Path(path))
    _check_checksum(data, path)
    _check_schema(data, path)
    try:
        plan = Plan.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SavedPlanError(f"the saved plan {path} is not a plan ({exc}): {AGAIN}") from None
    check_changes(plan, path)
    return plan


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise SavedPlanError(f"cannot read the saved plan {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_PLAN_BYTES:
        raise SavedPlanError(f"the saved plan {path} is larger than {MAX_PLAN_BYTES // 2**20} MiB: {AGAIN}")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise SavedPlanError(f"the saved plan {path} is not UTF-8 text: {AGAIN}") from None
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or "too deeply nested"
        raise SavedPlanError(f"the saved plan {path} is not valid JSON ({reason}; truncated?): {AGAIN}") from None
    if not isinstance(data, dict):
        raise SavedPlanError(f"the saved plan {path} is a JSON {type(data).__name__}, not a plan: {AGAIN}")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_checksum(data: dict[str, Any], path: str | Path) -> None:
    given = data.get("checksum")
    if not isinstance(given, str):
        raise SavedPlanError(f"the saved plan {path} has no checksum (edited, or written by an older version): {AGAIN}")
    if given != plan_checksum(data):
        raise SavedPlanError(f"the saved plan {path} was changed or truncated since it was written "
                             f"(its checksum does not match): {AGAIN}")


def _check_schema(data: dict[str, Any], path: str | Path) -> None:
    schema = plan_schema()
    errors = list(jsonschema_rs.validator_for(schema).iter_errors(data))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.instance_path) or "(top level)"
        raise SavedPlanError(f"the saved plan {path} does not match its schema at {where} "
                             f"({_short(first.message)}): {AGAIN}")


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def check_changes(plan: Plan, path: str | Path) -> None:
    """Every change is one a kind produces and carries out (see `KNOWN_CHANGES`)."""
    from orchestrator.apply.run import operations_of

    for c in plan.changes:
        actions = KNOWN_CHANGES.get(c.kind, {})
        pattern = actions.get(c.action)
        if pattern is None or not isinstance(c.path, str) or not pattern.fullmatch(c.path):
            raise SavedPlanError(f"the saved plan {path} holds a change no kind can carry out "
                                 f"({c.kind} {c.action} {_short(str(c.path), 60)} for {c.username}): {AGAIN}")
    try:
        ops = operations_of(plan.changes)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SavedPlanError(f"the saved plan {path} holds a change apply cannot carry out ({exc}): {AGAIN}") from None
    covered = {id(c) for op in ops for c in op.changes}
    for c in plan.changes:
        if id(c) not in covered:
            raise SavedPlanError(f"the saved plan {path} holds a change no operation carries out "
                                 f"({c.kind} {c.action} {c.path} for {c.username}): {AGAIN}")
