"""Settings rules of the schedule modules (Reactions Pro, Repost Pro): which fields a PATCH may
set, the values each accepts, the cross-field rules, and the 422 a client gets otherwise.

A module declares its settings as a mapping of name to :class:`Setting`, written with the small
constructors below (``flag``, ``integer``, ``text``, ...), which keep a hundred fields readable
on one line each with their default and their documentation. Validation is pydantic's: each
field gets a strict validator (a JSON ``1`` is not a boolean, ``"3"`` not an integer: a client
that sends the wrong type has a bug worth hearing about) and a PATCH validates only the fields
it names. What stays ours: the wording of the 422 field errors (pydantic's error types mapped to
the messages the API has always answered), the other spellings of a field (aliases, nested
``data.*`` objects), read-only and unknown names with a "did you mean", and the two cross-field
rules, which look at the stored settings as well as the patch.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic_core import ErrorDetails

from orchestrator.emulator.clock import FORMAT
from orchestrator.emulator.envelope import Open
from orchestrator.emulator.errors import ValidationFailed

#: Fields a schedule shows but a PATCH may not set.
READ_ONLY = frozenset({
    "id", "account_id", "username", "status", "is_active", "is_running", "target_count", "targets",
    "schedule_date", "end_date", "last_action_date", "date",
})
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_HHMM_TEXT = "must be a time HH:MM (00:00-23:59, UTC)"
_DATETIME_TEXT = "must be a date-time YYYY-MM-DD HH:MM:SS (UTC)"
_STRICT = ConfigDict(strict=True)


# -- one field ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Setting:
    """One settings field: its type, default and the values it accepts."""

    kind: str  # bool | int | float | str | time | datetime | enum
    default: Any
    doc: str = ""
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 0
    pattern: re.Pattern[str] | None = None
    pattern_hint: str = ""
    nullable: bool = False

    def annotation(self) -> Any:
        """The field's pydantic type (without None: null is decided before validation)."""
        if self.kind == "bool":
            return bool
        if self.kind == "int":
            return Annotated[int, Field(ge=self.lo, le=self.hi)]
        if self.kind == "float":
            return Annotated[float, Field(ge=self.lo, le=self.hi)]
        if self.kind == "enum":
            return Literal[self.choices]
        if self.kind == "time":
            return Annotated[str, StringConstraints(pattern=_HHMM.pattern)]
        if self.kind == "datetime":
            return Annotated[str, AfterValidator(_parse_datetime)]
        checks: list[Any] = [StringConstraints(max_length=self.max_length or None)]
        if self.pattern is not None:
            checks.append(AfterValidator(self._match))
        return Annotated[str, *checks]

    def _match(self, value: str) -> str:
        # Empty text is always allowed ("not set"); pydantic's pattern would refuse it.
        if value and self.pattern is not None and not self.pattern.match(value):
            raise ValueError(f"must look like {self.pattern_hint}")
        return value

    def message(self, error: ErrorDetails) -> str:
        """The 422 text for one of pydantic's errors about this field."""
        kind = error["type"]
        if kind == "bool_type":
            return "must be a boolean"
        if kind == "int_type":
            return "must be an integer"
        if kind == "float_type":
            return "must be a number"
        if kind in ("greater_than_equal", "less_than_equal"):
            return self._range_text()
        if kind == "string_type" or (kind == "literal_error" and not isinstance(error["input"], str)):
            return "must be a string"
        if kind == "literal_error":
            return "must be one of " + ", ".join(self.choices)
        if kind == "string_pattern_mismatch":
            return _HHMM_TEXT
        if kind == "string_too_long":
            return f"must be at most {self.max_length} characters"
        if kind == "value_error":
            return str((error.get("ctx") or {}).get("error", error["msg"]))
        return error["msg"]  # pragma: no cover - a constraint none of the fields uses

    def _range_text(self) -> str:
        noun = "an integer" if self.kind == "int" else "a number"
        if self.hi is None:
            return f"must be {noun} of at least {_num(self.lo)}"
        return f"must be {noun} from {_num(self.lo)} to {_num(self.hi)}"

    def json_schema(self) -> dict[str, Any]:
        """The field as JSON Schema, for the OpenAPI document of PATCH settings."""
        base = {"bool": "boolean", "int": "integer", "float": "number"}.get(self.kind, "string")
        schema: dict[str, Any] = {
            "type": [base, "null"] if self.nullable else base, "default": self.default,
        }
        if self.doc:
            schema["description"] = self.doc
        if self.lo is not None:
            schema["minimum"] = self.lo
        if self.hi is not None:
            schema["maximum"] = self.hi
        if self.choices:
            schema["enum"] = list(self.choices) + ([None] if self.nullable else [])
        if self.max_length:
            schema["maxLength"] = self.max_length
        if self.kind == "time":
            schema["pattern"] = _HHMM.pattern
        if self.kind == "datetime":
            schema["description"] = f"{self.doc} (YYYY-MM-DD HH:MM:SS, UTC)".strip()
        return schema

    def python_type(self) -> Any:
        """The field's type for the documented response model."""
        base: Any = {"bool": bool, "int": int, "float": float}.get(self.kind, str)
        return base | None if self.nullable else base


def _num(x: float | None) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _parse_datetime(value: str) -> str:
    for fmt in (FORMAT, "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).strftime(FORMAT)
        except ValueError:
            continue
    raise ValueError(_DATETIME_TEXT)


# -- the declaration vocabulary ----------------------------------------------------------------
def flag(default: bool, doc: str = "") -> Setting:
    return Setting("bool", default, doc)


def integer(
    default: int | None, lo: int | None, hi: int | None, doc: str = "", *, nullable: bool = False
) -> Setting:
    return Setting("int", default, doc, lo=lo, hi=hi, nullable=nullable)


def number(default: float, lo: float, hi: float, doc: str = "") -> Setting:
    return Setting("float", default, doc, lo=lo, hi=hi)


def text(default: str | None, max_length: int, doc: str = "", *, pattern: str | None = None,
         hint: str = "", nullable: bool = False) -> Setting:
    compiled = re.compile(pattern) if pattern else None
    return Setting("str", default, doc, max_length=max_length, pattern=compiled, pattern_hint=hint,
                   nullable=nullable)


def hhmm(default: str, doc: str = "") -> Setting:
    return Setting("time", default, doc)


def moment(doc: str = "") -> Setting:
    return Setting("datetime", None, doc, nullable=True)


def one_of(default: str, choices: Sequence[str], doc: str = "") -> Setting:
    return Setting("enum", default, doc, choices=tuple(choices))


# -- cross-field rules -------------------------------------------------------------------------
#: A rule sees the settings as they would be after the patch and the names the patch changes;
#: it answers field errors. Only a rule whose fields the patch touches may fail, so a stored
#: combination a rule would refuse today never blocks an unrelated change.
Rule = Callable[[Mapping[str, Any], set[str]], dict[str, str]]


def min_max(low: str, high: str) -> Rule:
    """A rule: ``low`` may not exceed ``high`` (0 in either means "no limit")."""

    def rule(merged: Mapping[str, Any], changed: set[str]) -> dict[str, str]:
        if {low, high} & changed and merged[low] and merged[high] and merged[low] > merged[high]:
            field = high if high in changed else low
            return {field: f"{low} must not exceed {high} (0 means no limit)"}
        return {}

    return rule


def required_when(switch: str, field: str) -> Rule:
    """A rule: ``field`` must be set while ``switch`` is on."""

    def rule(merged: Mapping[str, Any], changed: set[str]) -> dict[str, str]:
        if {switch, field} & changed and merged[switch] and merged[field] is None:
            return {field: f"is required while {switch} is on"}
        return {}

    return rule


# -- a module's settings -----------------------------------------------------------------------
def _attribute(key: str) -> str:
    return re.sub(r"\W", "_", key)


class SettingsSchema:
    """A module's settings: the fields, the names accepted for them, and the cross-field rules."""

    def __init__(
        self,
        fields: Mapping[str, Setting],
        *,
        aliases: Mapping[str, str] | None = None,
        nested: Iterable[str] = (),
        rules: Sequence[Rule] = (),
    ) -> None:
        self.fields = dict(fields)
        self.defaults = {name: spec.default for name, spec in self.fields.items()}
        self.aliases = dict(aliases or {})
        self.nested = frozenset(nested)  # prefixes whose fields may also come as a nested object
        self.rules = tuple(rules)

    @cached_property
    def _validators(self) -> dict[str, TypeAdapter[Any]]:
        """One strict validator per field: a patch pays only for the fields it names (a model
        of all hundred fields would cost three times as much on the hot path)."""
        return {key: TypeAdapter(spec.annotation(), config=_STRICT) for key, spec in self.fields.items()}

    def render(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """Every setting with its value: the stored ones over the defaults."""
        return {**self.defaults, **stored}

    def validate_patch(self, body: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
        """The checked changes of a partial update, keyed by canonical field name.

        Nothing is written unless every field is valid; the 422 names each field as it was sent.
        """
        errors: dict[str, str] = {}
        sent_as: dict[str, str] = {}  # canonical name -> the name the client used
        values: dict[str, Any] = {}
        for name, value in self._flatten(body, errors):
            canonical = self.aliases.get(name, name)
            spec = self.fields.get(canonical)
            if spec is None:
                errors[name] = self._unknown(name)
            elif value is None and not spec.nullable:
                errors[name] = "must not be null"
            else:
                sent_as[canonical] = name
                values[canonical] = value
        changes = self._validated(values, sent_as, errors)
        if not errors and self.rules:
            merged = {**self.defaults, **stored, **changes}
            for rule in self.rules:
                errors.update(rule(merged, set(changes)))
        if errors:
            raise ValidationFailed(errors)
        return changes

    def _validated(self, values: dict[str, Any], sent_as: dict[str, str],
                   errors: dict[str, str]) -> dict[str, Any]:
        """pydantic's verdict on ``values`` (a None is a nullable field's: null was checked before)."""
        validators = self._validators
        changes: dict[str, Any] = {}
        for key, value in values.items():
            if value is None:
                changes[key] = None
                continue
            try:
                changes[key] = validators[key].validate_python(value)
            except ValidationError as exc:
                errors[sent_as[key]] = self.fields[key].message(exc.errors()[0])
        return changes

    def _flatten(self, body: Mapping[str, Any], errors: dict[str, str]) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = []
        for name, value in body.items():
            if name in self.nested:
                if isinstance(value, dict):
                    pairs.extend((f"{name}.{sub}", v) for sub, v in value.items())
                else:
                    errors[name] = f"must be an object of {name}.* fields"
            else:
                pairs.append((name, value))
        return pairs

    def _unknown(self, name: str) -> str:
        if name in READ_ONLY:
            hint = "; use /activate or /pause" if name == "is_active" else ""
            return f"is read-only{hint}"
        close = difflib.get_close_matches(name, self.fields, n=1)
        return "Unknown setting" + (f" (did you mean '{close[0]}'?)" if close else "")

    # -- documentation ------------------------------------------------------------------
    def patch_schema(self) -> dict[str, Any]:
        """JSON Schema of the PATCH body: any subset of the fields (and their other spellings)."""
        props: dict[str, Any] = {name: spec.json_schema() for name, spec in self.fields.items()}
        for prefix in sorted(self.nested):
            subs = {n.split(".", 1)[1]: s.json_schema() for n, s in self.fields.items()
                    if n.startswith(prefix + ".")}
            props[prefix] = {"type": "object", "properties": subs, "additionalProperties": False,
                             "description": f"the {prefix}.* fields as a nested object"}
        for alias, canonical in self.aliases.items():
            props[alias] = {**self.fields[canonical].json_schema(),
                            "description": f"alias of {canonical}"}
        return {"type": "object", "properties": props, "additionalProperties": False}

    def request_body_doc(self) -> dict[str, Any]:
        """``openapi_extra`` documenting the PATCH body (the handler takes a plain object)."""
        return {"requestBody": {"content": {"application/json": {"schema": self.patch_schema()}}}}

    def model(self, name: str) -> type[BaseModel]:
        """A pydantic model of every setting, documenting GET settings."""
        fields: dict[str, Any] = {
            _attribute(key): (spec.python_type(), Field(alias=key, description=spec.doc or None))
            for key, spec in self.fields.items()
        }
        return create_model(name, __base__=Open, **fields)
