"""Turning pydantic's validation errors into playbook diagnostics.

Pydantic reports ``loc=("entries", 0, "repost", "settings", "sped")``, ``type="extra_forbidden"``.
A campaign manager needs ``growth.yaml:14:9: unknown key `sped` in `repost.settings`; did you
mean `speed`?``. This module owns that translation: it finds the line and column in the file's
`PositionIndex`, names the key, describes the offending value (never a secret's), and finds a
hint from the schema itself (the keys allowed where the unknown one stands).
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from orchestrator.playbook.errors import Diagnostic, closest, did_you_mean, one_of
from orchestrator.playbook.fields import FIELD_ALIASES, MODULE_NAMES, SETTINGS
from orchestrator.playbook.positions import Path, PositionIndex, format_path
from orchestrator.playbook.schema import SettingsSpec
from orchestrator.playbook.values import KIND_KEYS, describe

#: Hints for required keys that are missing, by key.
MISSING_HINTS = {
    "groups": "name the group(s) this entry is for, such as `groups: fashion`",
    "state": "such as `state: active`",
    "schedules": "list the schedules under `schedules:`",
    "library": "list the captions under `library:` as `Title: caption text`",
    "username": "such as `username: nike`",
    "type": "such as `type: hashtag`",
}

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'|(-?\d+)")


def translate(error: ValidationError, index: PositionIndex, root: type[BaseModel],
              skip: Iterable[Path] = ()) -> list[Diagnostic]:
    """Diagnostics for every error in ``error``, except those at or below a path in ``skip``
    (already reported, e.g. an inline secret)."""
    skipped = tuple(skip)
    out: list[Diagnostic] = []
    items = _without_misspelled_missing(error.errors(include_url=False))
    for item in items:
        loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and part.startswith("§")))
        on_key = False
        if loc and loc[-1] == "[key]":
            loc, on_key = loc[:-1], True
        ctx = item.get("ctx") or {}
        if item["type"] == "playbook":
            loc = loc + tuple(ctx.get("at") or ())
            on_key = on_key or bool(ctx.get("on_key"))
        if any(loc[: len(s)] == s for s in skipped):
            continue
        out.append(_diagnostic(item, loc, on_key, index, root))
    return out


def _without_misspelled_missing(items: list[Any]) -> list[Any]:
    """Drop "missing `state`" when the same mapping has an unknown `status`: one mistake, one
    diagnostic (the unknown key, whose hint names the missing one)."""
    unknown: dict[Path, list[str]] = {}
    for item in items:
        if item["type"] == "extra_forbidden":
            unknown.setdefault(tuple(item["loc"][:-1]), []).append(str(item["loc"][-1]))
    def misspelled(item: Any) -> bool:
        if item["type"] != "missing":
            return False
        keys = unknown.get(tuple(item["loc"][:-1]), [])
        return closest(str(item["loc"][-1]), keys) is not None
    return [item for item in items if not misspelled(item)]


def display(path: Path) -> str:
    """The key path as a message shows it: relative to its entry (the line says which entry)."""
    if len(path) > 2 and path[0] == "entries" and isinstance(path[1], int):
        path = path[2:]
    return format_path(path) or "the playbook"


def _diagnostic(item: Any, loc: Path, on_key: bool, index: PositionIndex, root: type[BaseModel]) -> Diagnostic:
    kind = item["type"]
    value = item.get("input")
    ctx = item.get("ctx") or {}
    where = display(loc)
    hint: str | None = None
    # A mapping or list in the wrong place is pointed at by its key: its value starts lines below.
    on_key = on_key or (kind != "playbook" and isinstance(value, (dict, list)))
    position = index.key_at(loc) if on_key else index.value_at(loc)

    if kind == "playbook":
        message = ctx["message"]
        hint = ctx.get("hint")
        if loc and not _names_key(message, loc):
            message = f"`{where}`: {message}"
    elif kind == "missing":
        key = str(loc[-1])
        parent = loc[:-1]
        position = index.key_at(parent)
        message = (f"`{display(parent)}` is missing required key `{key}`" if parent
                   else f"missing required key `{key}`")
        hint = MISSING_HINTS.get(key)
    elif kind == "extra_forbidden":
        message, hint = _unknown_key(loc, root)
        position = index.key_at(loc)
    elif kind in ("literal_error", "enum"):
        choices = [a or b for a, b in _QUOTED.findall(str(ctx.get("expected", "")))]
        message = f"`{where}` must be {one_of(choices)}, got {describe(value)}"
        if isinstance(value, str):
            hint = did_you_mean(value, choices)
    else:
        message, hint = _type_problem(kind, where, value, ctx, loc)
    return Diagnostic.at(position, message, hint, path=format_path(loc))


def _names_key(message: str, loc: Path) -> bool:
    """Whether ``message`` already names the node it is about (no need to prefix the path)."""
    last = loc[-1]
    return isinstance(last, str) and f"`{last}`" in message


def _type_problem(kind: str, where: str, value: Any, ctx: dict[str, Any], loc: Path) -> tuple[str, str | None]:
    got = describe(value)
    hint: str | None = None
    if kind in ("int_type", "int_parsing", "int_from_float"):
        need = "a whole number"
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            hint = "write the number without quotes"
    elif kind in ("bool_type", "bool_parsing"):
        need = "`true` or `false`"
        if isinstance(value, str) and value.lower() in ("yes", "no", "on", "off", "true", "false", "y", "n"):
            hint = f"write `{'true' if value.lower() in ('yes', 'on', 'true', 'y') else 'false'}` without quotes"
    elif kind in ("float_type", "float_parsing", "finite_number"):
        need = "a number"
    elif kind in ("string_type", "string_sub_type"):
        need = "text"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            hint = f'quote it: `"{value}"`'
    elif kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        need = "a mapping (`key: value` lines)"
    elif kind in ("list_type", "tuple_type", "iterable_type"):
        need = "a list"
        if isinstance(value, (str, int)):
            hint = f"write `[{value}]` or one `- {value}` line per item"
    elif kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"`{where}` must be at least {bound}, got {got}", _range_hint(loc)
    elif kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return f"`{where}` must be at most {bound}, got {got}", _range_hint(loc)
    elif kind in ("too_short", "string_too_short"):
        return f"`{where}` must not be empty", None
    elif kind == "union_tag_invalid":
        need = "a mapping or a list"
    else:
        return f"`{where}`: {kind.replace('_', ' ')}", None
    return f"`{where}` must be {need}, got {got}", hint


def _range_hint(loc: Path) -> str | None:
    last = loc[-1] if loc else ""
    if isinstance(last, str) and last.endswith("speed"):
        return "speeds go from 1 (very slow) to 5 (very fast)"
    return None


def _unknown_key(loc: Path, root: type[BaseModel]) -> tuple[str, str | None]:
    key = str(loc[-1])
    parent = loc[:-1]
    model = model_at(root, parent)
    allowed = allowed_keys(model) if model is not None else []
    where = display(parent)
    in_entry = len(parent) == 2 and parent[0] == "entries"
    if not parent:
        message = f"unknown top-level key `{key}`"
    elif in_entry:
        message = f"unknown key `{key}` in an entry"
    else:
        message = f"unknown key `{key}` in `{where}`"

    hint = None
    if model is not None and issubclass(model, SettingsSpec):
        alias = FIELD_ALIASES.get(model.MODULE, {}).get(key)
        if alias:
            hint = f"this API calls it `{alias}`"
        elif key == "data" and model.MODULE == "repost":
            hint = "write the media switches flat: `data.photo: true`, `data.video: false`, ..."
        message = f"unknown {MODULE_NAMES[model.MODULE]} setting `{key}`"
    elif key in KIND_KEYS and not in_entry:
        hint = f"`{key}` belongs in an entry under `entries:`, with `groups:`"
    elif key == "captions" and in_entry:
        hint = "the caption library belongs to the user, not to accounts: declare `captions:` at the top level"
    elif parent and parent[-1] in ("reactions", "repost") and key in SETTINGS[str(parent[-1])][0]:
        hint = f"settings go under `settings:`: `{where}.settings.{key}`"
    hint = hint or did_you_mean(key, allowed)
    if hint is None and allowed and len(allowed) <= 12:
        hint = f"allowed here: {', '.join(f'`{k}`' for k in allowed)}"
    return message, hint


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """The keys a playbook may write in a mapping validated by ``model``."""
    return [field.alias or name for name, field in model.model_fields.items()
            if not (field.alias or "").startswith("§")]


def model_at(root: type[BaseModel], loc: Path) -> type[BaseModel] | None:
    """The model that validates the mapping at ``loc`` (below ``root``), if any."""
    current: Any = root
    for part in loc:
        current = _unwrap(current, part)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (list, tuple):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap(current, None)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any, step: str | int | None) -> Any:
    """Strip ``Annotated`` and ``Optional``; in a union, take the branch ``step`` can enter."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            branches = [a for a in get_args(tp) if a is not type(None)]
            if isinstance(step, int):
                pick = [a for a in branches if get_origin(_strip(a)) in (list, tuple)]
            else:
                pick = [a for a in branches if isinstance(_strip(a), type) and issubclass(_strip(a), BaseModel)]
            tp = (pick or branches)[0]
        else:
            return tp


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


__all__ = ["allowed_keys", "display", "model_at", "translate"]
