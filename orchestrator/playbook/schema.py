"""The playbook format as pydantic models: one model per kind, validated from one file's data.

These models say what a playbook file may contain and check everything that can be checked
from the file alone. They hold plain values; the positions of those values stay in the file's
`PositionIndex`, and `orchestrator.playbook.desired` pairs them up as `Sourced` values.

Conventions that keep the error messages precise (see `schema_errors`):

* leaves use strict types: ``likes_speed: "3"`` is text, not a number, and says so;
* a check that needs more than one field raises `fail`, which names the sub-path (``at``) of
  the node at fault, so the diagnostic points at that exact line and column;
* the two-form fields (``leads:`` one mapping or a list) use a discriminated union whose tags
  start with ``§`` and are dropped from error locations.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, NoReturn, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from orchestrator.playbook import spintax
from orchestrator.playbook.errors import closest, one_edit_apart, one_of
from orchestrator.playbook.fields import MODULE_NAMES, SETTINGS, FieldSpec, FieldType
from orchestrator.playbook.secret_refs import SecretRef, secret_ref_problem
from orchestrator.playbook.target_types import (
    REACTIONS_TARGET_TYPES,
    REPOST_TARGET_TYPES,
    TargetType,
    ValueKind,
    id_problem,
    value_problem,
)

SUPPORTED_VERSION = 1
SCHEDULE_STATES = ("active", "paused")
LEADS_STATES = ("running", "stopped")
COMMENT_MODES = ("random", "sequential")
#: Entry keys that give desired state, in the order plan reports them.
KIND_KEYS = ("account", "reactions", "repost", "welcomedm", "ai_dm", "leads", "first_comment")
GLOB_CHARS = frozenset("*?[")

ScheduleState = Literal["active", "paused"]
LeadsState = Literal["running", "stopped"]
CommentMode = Literal["random", "sequential"]


def fail(message: str, hint: str | None = None, at: tuple[str | int, ...] = (), on_key: bool = False) -> NoReturn:
    """Reject the value being validated.

    ``at`` is the path below the validated node of what is at fault; ``on_key`` points the
    diagnostic at that node's key rather than its value (an unknown or misplaced key).
    """
    raise PydanticCustomError("playbook", "{message}", {"message": message, "hint": hint, "at": at, "on_key": on_key})


class Spec(BaseModel):
    """Base of every playbook model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# -- leaf values ----------------------------------------------------------------------------

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_LOOSE_TIME = re.compile(r"^(\d{1,2}):(\d{1,2})(?::\d{1,2})?$")
_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$")
_REPOST_TIMES = re.compile(r"^repost\[([01]\d|2[0-3]):[0-5]\d\](,repost\[([01]\d|2[0-3]):[0-5]\d\])*$")
_PROXY = re.compile(r"^(?:(?:https?|socks4a?|socks5h?)://)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):\d{1,5}$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def describe(value: object) -> str:
    """A short phrase for an offending value in a message (``got text `fast```)."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text `{shown}`"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"the date {value}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


def _time(value: Any) -> str:
    if isinstance(value, str) and _TIME.match(value):
        return value
    if isinstance(value, str):
        loose = _LOOSE_TIME.match(value)
        if loose and int(loose.group(1)) < 24 and int(loose.group(2)) < 60:
            fixed = f"{int(loose.group(1)):02d}:{int(loose.group(2)):02d}"
            fail(f"`{value}` is not a time HH:MM", f"write `\"{fixed}\"`")
        fail(f"`{value}` is not a time HH:MM", "use 24-hour UTC times from `00:00` to `23:59`")
    fail(f"must be a time HH:MM, got {describe(value)}", 'write it as text, such as `"23:00"`')


def _datetime(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d 00:00:00")
    if isinstance(value, str):
        match = _DATETIME.match(value)
        if match:
            y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
            try:
                return dt.datetime(y, mo, d, h, mi, s).strftime("%Y-%m-%d %H:%M:%S")
            except ValueError:
                fail(f"`{value}` is not a valid date", "write `YYYY-MM-DD HH:MM:SS`, such as `2026-06-30 23:59:00`")
    fail(f"must be a date and time, got {describe(value)}",
         "write `YYYY-MM-DD HH:MM:SS`, such as `2026-06-30 23:59:00`")


def _spintax_text(value: Any) -> str:
    if not isinstance(value, str):
        fail(f"must be text, got {describe(value)}", 'quote it: `"..."`')
    problem = spintax.check(value)
    if problem is not None:
        fail(f"unbalanced spintax: {problem}", "every `{` needs a `}`; alternatives are written `{a|b|c}`")
    return value


def _nonempty_spintax(value: Any) -> str:
    text = _spintax_text(value)
    if not text.strip():
        fail("must not be empty")
    return text


def _repost_times(value: Any) -> str:
    if not isinstance(value, str):
        fail(f"must be text, got {describe(value)}", 'such as `"repost[10:00],repost[18:00]"`')
    if value and not _REPOST_TIMES.match(value.replace(" ", "")):
        fail(f"`{value}` is not a list of repost times",
             'write `"repost[10:00],repost[18:00]"` (HH:MM, UTC), or `""` to use the speed')
    return value.replace(" ", "")


def _proxy(value: Any, allow_auto: bool) -> str | SecretRef:
    if isinstance(value, Mapping):
        problem = secret_ref_problem(value)
        if problem:
            fail(*problem)
        return SecretRef(env=value.get("env"), file=value.get("file"))
    if not isinstance(value, str):
        fail(f"must be a proxy, got {describe(value)}",
             "write `host:port`, `socks5://host:port`" + (", or `auto`" if allow_auto else ""))
    if value == "auto":
        if not allow_auto:
            fail("`auto` is only for `account.proxy`", "give a proxy such as `socks5://10.0.0.1:1080`")
        return value
    if value == "" and not allow_auto:
        return value  # an empty custom proxy means "none"
    if not _PROXY.match(value):
        fail(f"`{value}` is not a proxy address",
             "write `host:port` or `scheme://host:port` (http, https, socks4, socks5)"
             + ("; or `auto` to have one assigned" if allow_auto else ""))
    return value


def _secret_ref(value: Any) -> SecretRef:
    problem = secret_ref_problem(value)
    if problem:
        fail(*problem)
    return SecretRef(env=value.get("env"), file=value.get("file"))


_SECRET_REF_SCHEMA = {
    "type": "object",
    "oneOf": [
        {"properties": {"env": {"type": "string"}}, "required": ["env"], "additionalProperties": False},
        {"properties": {"file": {"type": "string"}}, "required": ["file"], "additionalProperties": False},
    ],
}

Time = Annotated[str, PlainValidator(_time), WithJsonSchema({"type": "string", "pattern": _TIME.pattern})]
DateTime = Annotated[str, PlainValidator(_datetime), WithJsonSchema({"type": "string", "format": "date-time"})]
SpintaxText = Annotated[str, PlainValidator(_spintax_text), WithJsonSchema({"type": "string"})]
Comment = Annotated[str, PlainValidator(_nonempty_spintax), WithJsonSchema({"type": "string", "minLength": 1})]
RepostTimes = Annotated[str, PlainValidator(_repost_times), WithJsonSchema({"type": "string"})]
CustomProxy = Annotated[
    Union[str, SecretRef],
    PlainValidator(lambda v: _proxy(v, allow_auto=False)),
    WithJsonSchema({"anyOf": [{"type": "string"}, _SECRET_REF_SCHEMA]}),
]
AccountProxy = Annotated[
    Union[str, SecretRef],
    PlainValidator(lambda v: _proxy(v, allow_auto=True)),
    WithJsonSchema({"anyOf": [{"type": "string"}, _SECRET_REF_SCHEMA]}),
]
SecretRefValue = Annotated[SecretRef, PlainValidator(_secret_ref), WithJsonSchema(_SECRET_REF_SCHEMA)]


# -- settings -------------------------------------------------------------------------------

def _annotation(spec: FieldSpec) -> Any:
    """The pydantic type of one settings field."""
    bounds = {k: v for k, v in (("ge", spec.minimum), ("le", spec.maximum)) if v is not None}
    match spec.type:
        case FieldType.BOOL:
            return StrictBool
        case FieldType.INT:
            return Annotated[StrictInt, Field(**bounds)]
        case FieldType.FLOAT:
            return Annotated[StrictFloat, Field(**bounds)]
        case FieldType.TEXT:
            return StrictStr
        case FieldType.SPINTAX:
            return SpintaxText
        case FieldType.TIME:
            return Time
        case FieldType.DATETIME:
            return DateTime
        case FieldType.CHOICE:
            return Literal[spec.choices]  # type: ignore[valid-type]
        case FieldType.PROXY:
            return CustomProxy
        case FieldType.REPOST_TIMES:
            return RepostTimes
    raise AssertionError(spec.type)  # pragma: no cover


class SettingsSpec(BaseModel):
    """Base of the per-module settings models; fields are built from `orchestrator.playbook.fields`.

    ``as_dict()`` gives exactly the fields the playbook names, by their API names.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)
    MODULE: ClassVar[str] = ""

    def as_dict(self) -> dict[str, Any]:
        # Not model_dump: it would turn a secret reference into a dict (with serializer
        # warnings), and the planner must see the SecretRef to resolve it before diffing.
        fields, extra = type(self).model_fields, self.model_extra or {}
        given = self.model_fields_set
        out = {(spec.alias or name): getattr(self, name) for name, spec in fields.items() if name in given}
        return out | {name: value for name, value in extra.items()}


def _settings_model(module: str) -> type[SettingsSpec]:
    fields, is_open = SETTINGS[module]
    definitions: dict[str, Any] = {
        # Fields are optional but never null: the default is not validated, an explicit `~` is.
        name.replace(".", "__"): (_annotation(spec), Field(default=None, alias=name, description=spec.doc))
        for name, spec in fields.items()
    }
    model = create_model(  # type: ignore[call-overload]
        f"{module.title()}Settings",
        __base__=SettingsSpec,
        __module__=__name__,
        **definitions,
    )
    model.MODULE = module
    if is_open:
        model.model_config = {**model.model_config, "extra": "allow"}
        model.model_rebuild(force=True)
    return model


def _check_open_settings(settings: SettingsSpec) -> SettingsSpec:
    """Fields of an open module that are not listed: allowed (checked live at plan time) unless
    they are one typo away from a listed field, or are not a single value.

    One edit, not a similarity ratio: the live object has real fields close to documented
    ones (``unfollow_limit`` beside ``follow_limit``) that must not be refused statically."""
    fields, _ = SETTINGS[settings.MODULE]
    for key, value in (settings.model_extra or {}).items():
        near = next((name for name in fields if one_edit_apart(str(key), name)), None)
        if near is not None:
            fail(f"unknown {MODULE_NAMES[settings.MODULE]} setting `{key}`", f"did you mean `{near}`?",
                 at=(key,), on_key=True)
        if not isinstance(value, (bool, int, float, str)):
            fail(f"setting `{key}` must be a single value, got {describe(value)}",
                 "settings are flat: `name: value`", at=(key,))
    return settings


_ReactionsSettingsBase = _settings_model("reactions")
ReactionsSettings = Annotated[_ReactionsSettingsBase, AfterValidator(_check_open_settings)]
RepostSettings = _settings_model("repost")


# -- targets --------------------------------------------------------------------------------

def _target_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        fail(f"a target value must be text, got {describe(value)}")
    return str(value).strip()


def _target_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        fail(f"a target id must be a number, got {describe(value)}")
    return str(value).strip()


TargetText = Annotated[str, PlainValidator(_target_text), WithJsonSchema({"type": ["string", "integer"]})]
TargetId = Annotated[str, PlainValidator(_target_id), WithJsonSchema({"type": ["string", "integer"]})]


_ID_NOUNS = {"location": "a location", "people": "a user", "music": "a music track", "collection": "a collection"}


class TargetSpec(Spec):
    """A target (source) of Reactions Pro or Repost Pro.

    Written ``{type: hashtag, value: summer}`` or, shorter, ``hashtag: summer``; ``id`` is
    needed for the types that name something by id (``location: Paris`` with ``id: 213385402``).
    """

    TYPES: ClassVar[dict[str, TargetType]] = {}
    MODULE: ClassVar[str] = ""

    type: StrictStr
    value: TargetText | None = None
    id: TargetId | None = None
    # The key of the short form (`hashtag: summer`), so diagnostics point at what was written.
    short_key: str | None = Field(default=None, alias="§short", exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, str):
            # A bare `- explore`: a type without a value (checked, with the others, in `_check`).
            return cls._default_value({"type": data, "§short": data})
        if not isinstance(data, Mapping):
            return data
        if "type" in data:
            return cls._default_value(dict(data))
        named = [k for k in data if k != "id"]
        if len(named) != 1:
            if not named:
                fail("a target needs a type", "write `hashtag: summer` or `{type: hashtag, value: summer}`")
            fail(f"a target has one type; this one names {one_of(named)}",
                 "write each target as its own list item", at=(named[1],), on_key=True)
        key = named[0]
        return cls._default_value({"type": key, "value": data[key], "id": data.get("id"), "§short": key})

    @classmethod
    def _default_value(cls, data: dict[str, Any]) -> dict[str, Any]:
        # Types without a value (explore, feed, timeline) carry their own name, as the server does.
        spec = cls.TYPES.get(data["type"]) if isinstance(data.get("type"), str) else None
        if spec is not None and spec.value is ValueKind.NONE and data.get("value") in (None, ""):
            data["value"] = data["type"]
        return data

    @model_validator(mode="after")
    def _check(self) -> TargetSpec:
        short = self.short_key
        type_at: tuple[str, ...] = (short,) if short else ("type",)
        value_at: tuple[str, ...] = (short,) if short else ("value",)
        spec = self.TYPES.get(self.type)
        if spec is None:
            near = closest(self.type, self.TYPES, cutoff=0.75)
            if near:
                hint = f"did you mean `{near}`?"
            elif short and self.value is None:
                hint = "write a target as `type: value`, such as `hashtag: summer`"
            else:
                hint = f"{self.MODULE} takes {one_of(self.TYPES)}"
                other = next((m for m, types in _MODULE_TYPES.items()
                              if m != self.MODULE and self.type in types), None)
                if other:
                    hint = f"`{self.type}` is a {other} type; {hint}"
            fail(f"{self.MODULE} does not accept target type `{self.type}`", hint, at=type_at, on_key=bool(short))
        if not self.value:
            fail(f"target `{self.type}` needs a value ({spec.value.value})", at=value_at)
        else:
            problem = value_problem(spec.value, self.value)
            if problem:
                fail(*problem, at=value_at)
        if spec.needs_id:
            if not self.id:
                fail(f"target type `{self.type}` needs an `id`",
                     f"Instagram knows {_ID_NOUNS[self.type.split('_')[0]]} by its numeric id: add `id: 123456789`",
                     at=type_at, on_key=bool(short))
            problem = id_problem(self.id)
            if problem:
                fail(*problem, at=("id",))
        return self

    @property
    def spec(self) -> TargetType:
        return self.TYPES[self.type]

    @property
    def key(self) -> tuple[str, str]:
        """Identity within a schedule: type and value (case-insensitive for names)."""
        value = self.value or ""
        if self.spec.value in (ValueKind.HASHTAG, ValueKind.USERNAME, ValueKind.REGION):
            value = value.casefold()
        return (self.type, value)

    def describe(self) -> str:
        return f"{self.type} `{self.value}`"


class ReactionsTarget(TargetSpec):
    """A Reactions Pro target."""

    TYPES = REACTIONS_TARGET_TYPES
    MODULE = "Reactions Pro"


class RepostTarget(TargetSpec):
    """A Repost Pro source."""

    TYPES = REPOST_TARGET_TYPES
    MODULE = "Repost Pro"


_MODULE_TYPES = {"Reactions Pro": REACTIONS_TARGET_TYPES, "Repost Pro": REPOST_TARGET_TYPES}


def _no_duplicate_targets(targets: list[TargetSpec]) -> list[TargetSpec]:
    seen: dict[tuple[str, str], int] = {}
    for i, target in enumerate(targets):
        if target.key in seen:
            first = targets[seen[target.key]]
            same = "" if first.value == target.value else f", `{first.value}`: names ignore case"
            fail(f"duplicate target {target.describe()} (also item {seen[target.key] + 1} of this list{same})",
                 "list each target once", at=(i,))
        seen[target.key] = i
    return targets


ReactionsTargets = Annotated[list[ReactionsTarget], AfterValidator(_no_duplicate_targets)]
RepostTargets = Annotated[list[RepostTarget], AfterValidator(_no_duplicate_targets)]


# -- kinds ----------------------------------------------------------------------------------

class ScheduleSpec(Spec):
    """Desired state of a Reactions Pro or Repost Pro schedule (one per account)."""

    state: ScheduleState | None = None
    targets: list[Any] | None = None
    prune: StrictBool | None = None

    @model_validator(mode="after")
    def _check(self) -> ScheduleSpec:
        if all(getattr(self, f) is None for f in ("state", "settings", "targets", "prune")):
            fail("says nothing", "give at least one of `state`, `settings`, `targets`")
        if self.prune and self.targets is None:
            fail("`prune: true` needs a `targets` list",
                 "prune makes the listed targets exact; write `targets: []` to remove every target",
                 at=("prune",), on_key=True)
        return self


class ReactionsSpec(ScheduleSpec):
    """``reactions:``: Reactions Pro (likes, follows, stories, DMs)."""

    settings: ReactionsSettings | None = None  # type: ignore[valid-type]
    targets: ReactionsTargets | None = None  # type: ignore[assignment]


class RepostSpec(ScheduleSpec):
    """``repost:``: Repost Pro."""

    settings: RepostSettings | None = None  # type: ignore[valid-type]
    targets: RepostTargets | None = None  # type: ignore[assignment]


class ToggleSpec(Spec):
    """``welcomedm:`` and ``ai_dm:``: the schedule on or off."""

    state: ScheduleState


class LeadsItem(Spec):
    """One Leads Finder state: for the schedule called ``task_name``, or all when omitted."""

    task_name: StrictStr | None = None
    state: LeadsState


def _no_duplicate_tasks(items: list[LeadsItem]) -> list[LeadsItem]:
    seen: set[str | None] = set()
    for i, item in enumerate(items):
        if item.task_name in seen:
            what = f"task `{item.task_name}`" if item.task_name is not None else "every task (no `task_name`)"
            fail(f"{what} is listed twice", "give each task one state", at=(i,))
        seen.add(item.task_name)
    return items


LeadsField = Annotated[
    Union[
        Annotated[Annotated[list[LeadsItem], AfterValidator(_no_duplicate_tasks)], Tag("§list")],
        Annotated[LeadsItem, Tag("§one")],
    ],
    Discriminator(lambda v: "§list" if isinstance(v, list) else "§one"),
]


class CommentTarget(Spec):
    """An account whose new posts a first-comment schedule watches: ``nike`` or
    ``{username: nike, user_pk: "13460080"}``."""

    username: StrictStr
    user_pk: TargetId | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"username": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _check(self) -> CommentTarget:
        problem = value_problem(ValueKind.USERNAME, self.username)
        if problem:
            fail(*problem, at=("username",))
        if self.user_pk is not None and (problem := id_problem(self.user_pk)):
            fail(*problem, at=("user_pk",))
        return self


class CommentSchedule(Spec):
    """One First Comment schedule of an account.

    The API has no name for a schedule. ``name`` is the playbook's own key: entries that name
    the same schedule merge field by field. Without a name, a schedule is keyed by its target
    set. Either way a desired schedule is matched to a live one by its target set (the sorted
    set of target usernames); see `CommentSchedule.match_key`.
    """

    name: StrictStr | None = None
    targets: list[CommentTarget] | None = Field(default=None, min_length=1)
    comments: list[Comment] | None = Field(default=None, min_length=1)
    mode: CommentMode | None = None
    state: ScheduleState | None = None

    @model_validator(mode="after")
    def _check(self) -> CommentSchedule:
        if self.name is None and self.targets is None:
            fail("a schedule without a `name` needs `targets`",
                 "its targets identify it; add `targets`, or a `name` to refer to a schedule defined elsewhere")
        if self.name is not None and not self.name.strip():
            fail("`name` must not be empty", at=("name",))
        seen: set[str] = set()
        for i, target in enumerate(self.targets or ()):
            if target.username.casefold() in seen:
                fail(f"duplicate target `{target.username}`", "list each account once", at=("targets", i))
            seen.add(target.username.casefold())
        return self

    @property
    def match_key(self) -> frozenset[str] | None:
        """The sorted set of target usernames, lower-cased: how a live schedule is recognised."""
        if self.targets is None:
            return None
        return frozenset(t.username.casefold() for t in self.targets)

    @property
    def key(self) -> str:
        """The merge key across entries: the name, or the target set."""
        if self.name is not None:
            return f"name:{self.name}"
        return "targets:" + ",".join(sorted(self.match_key or ()))


class FirstCommentSpec(Spec):
    """``first_comment:``: an account's First Comment schedules."""

    prune: StrictBool | None = None
    schedules: list[CommentSchedule]

    @model_validator(mode="after")
    def _check(self) -> FirstCommentSpec:
        keys: dict[str, int] = {}
        matches: dict[frozenset[str], int] = {}
        for i, schedule in enumerate(self.schedules):
            if schedule.key in keys:
                what = f"`{schedule.name}`" if schedule.name else "with these targets"
                fail(f"schedule {what} is listed twice (also item {keys[schedule.key] + 1})",
                     "list each schedule once", at=("schedules", i))
            keys[schedule.key] = i
            match = schedule.match_key
            if match is not None:
                if match in matches:
                    fail(f"two schedules watch the same targets (items {matches[match] + 1} and {i + 1})",
                         "a live schedule is recognised by its targets, so each target set may appear once",
                         at=("schedules", i, "targets"))
                matches[match] = i
        return self


class AccountSpec(Spec):
    """``account:``: account-level settings."""

    proxy: AccountProxy | None = None
    password: SecretRefValue | None = None

    @model_validator(mode="after")
    def _check(self) -> AccountSpec:
        if self.proxy is None and self.password is None:
            fail("says nothing", "give `proxy`")
        return self


def _group_names(value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if names == []:
        fail("names no group", "such as `groups: fashion` or `groups: [fashion, fitness]`")
    if not isinstance(names, list):
        fail(f"must name a group or a list of groups, got {describe(value)}", "such as `groups: fashion`")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name:
            fail(f"a group name must be text, got {describe(name)}", at=(i,) if isinstance(value, list) else ())
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        fail(f"group `{dup}` is named twice", at=(len(names) - 1 - names[::-1].index(dup),))
    return tuple(names)


GroupNames = Annotated[
    tuple[str, ...],
    PlainValidator(_group_names),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


class EntrySpec(Spec):
    """One item of ``entries:``: desired state per kind for the accounts of ``groups``."""

    name: StrictStr | None = None
    groups: GroupNames
    account: AccountSpec | None = None
    reactions: ReactionsSpec | None = None
    repost: RepostSpec | None = None
    welcomedm: ToggleSpec | None = None
    ai_dm: ToggleSpec | None = None
    leads: LeadsField | None = None
    first_comment: FirstCommentSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> EntrySpec:
        if all(getattr(self, kind) is None for kind in KIND_KEYS):
            fail("entry gives no desired state", f"add at least one of {one_of(KIND_KEYS)}")
        return self

    @property
    def leads_items(self) -> tuple[LeadsItem, ...]:
        """``leads:`` as a list, whichever form it was written in."""
        if self.leads is None:
            return ()
        return tuple(self.leads) if isinstance(self.leads, list) else (self.leads,)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds this entry sets, in `KIND_KEYS` order."""
        return tuple(kind for kind in KIND_KEYS if getattr(self, kind) is not None)


# -- groups ---------------------------------------------------------------------------------

def _is_glob(text: str) -> bool:
    return any(c in GLOB_CHARS for c in text)


def _username(text: str, i: tuple[int, ...], glob_ok: bool) -> str:
    if not text.strip():
        fail("a username must not be empty", at=i)
    if text.startswith("@"):
        fail(f"`{text}` starts with `@`", f"write `{text.lstrip('@')}`", at=i)
    if not glob_ok and _is_glob(text):
        fail(f"`{text}` is a pattern", "patterns go under `usernames:`; `accounts:` lists exact usernames and ids",
             at=i)
    return text


def _refs(value: Any, what: str, ids: bool, globs: bool) -> tuple[int | str, ...]:
    items = value if isinstance(value, list) else [value]
    listed = isinstance(value, list)
    out: list[int | str] = []
    for n, item in enumerate(items):
        at = (n,) if listed else ()
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            fail(f"{what} must be {'usernames or ids' if ids else 'usernames'}, got {describe(item)}", at=at)
        if isinstance(item, int):
            if not ids:
                fail(f"`{item}` is a number; `usernames:` takes usernames and patterns",
                     "list ids under `accounts:`", at=at)
            if item < 1:
                fail(f"account id must be positive, got {item}", at=at)
            out.append(item)
        else:
            out.append(_username(item, at, globs))
    if listed and not out:
        fail("the list is empty", "remove the key, or list at least one account")
    return tuple(out)


_STRINGS_OR_IDS = {"anyOf": [{"type": ["string", "integer"]},
                             {"type": "array", "items": {"type": ["string", "integer"]}}]}
Patterns = Annotated[tuple[str, ...], PlainValidator(lambda v: _refs(v, "`usernames`", ids=False, globs=True)),
                     WithJsonSchema(_STRINGS_OR_IDS)]
AccountRefs = Annotated[tuple[int | str, ...], PlainValidator(lambda v: _refs(v, "`accounts`", ids=True, globs=False)),
                        WithJsonSchema(_STRINGS_OR_IDS)]
ExcludeRefs = Annotated[tuple[int | str, ...], PlainValidator(lambda v: _refs(v, "`exclude`", ids=True, globs=True)),
                        WithJsonSchema(_STRINGS_OR_IDS)]


class GroupSpec(Spec):
    """A named selection of accounts.

    ``usernames``: patterns (``fashion_*``) or exact usernames; ``accounts``: exact usernames or
    numeric ids; ``all: true``: every account; ``exclude``: any of these, removed afterwards.
    An exact username or id that matches no live account is an error at plan time.
    """

    description: StrictStr | None = None
    usernames: Patterns | None = None
    accounts: AccountRefs | None = None
    all: StrictBool | None = None
    exclude: ExcludeRefs | None = None

    @model_validator(mode="after")
    def _check(self) -> GroupSpec:
        if self.all and (self.usernames or self.accounts):
            extra = "usernames" if self.usernames else "accounts"
            fail(f"`all: true` already selects every account; `{extra}` adds nothing",
                 f"drop `{extra}`, or drop `all` and keep `{extra}`", at=("all",), on_key=True)
        if not (self.all or self.usernames or self.accounts):
            fail("the group selects no accounts", "give `usernames`, `accounts` or `all: true`", on_key=True)
        return self


def _group_name(value: Any) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        fail(f"`{value}` is not a usable group name", "use letters, digits, `_`, `-` and `.`", on_key=True)
    return value


GroupName = Annotated[str, PlainValidator(_group_name), WithJsonSchema({"type": "string"})]


# -- policy ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limit:
    """A safety threshold: an absolute count, or a percentage of what plan considers."""

    amount: float
    percent: bool = False

    def of(self, total: int) -> int:
        """The threshold as a count, given ``total`` (accounts, targets, ...) under consideration."""
        if not self.percent:
            return int(self.amount)
        return int(total * self.amount / 100)

    def __str__(self) -> str:
        if self.percent:
            return f"{self.amount:g}%"
        return str(int(self.amount))


def _limit(value: Any) -> Limit:
    if isinstance(value, bool):
        fail(f"must be a count or a percentage, got {describe(value)}", "such as `10` or `\"5%\"`")
    if isinstance(value, int):
        if value < 0:
            fail(f"must not be negative, got {value}")
        return Limit(value)
    if isinstance(value, str):
        match = _PERCENT.match(value.strip())
        if match:
            amount = float(match.group(1))
            if amount > 100:
                fail(f"`{value}` is more than 100%")
            return Limit(amount, percent=True)
    fail(f"must be a count or a percentage, got {describe(value)}", "such as `10` or `5%`")


def _waves(value: Any) -> int | tuple[Limit, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            fail(f"must be at least 1, got {value}")
        return value
    if isinstance(value, list) and value:
        limits = []
        for i, item in enumerate(value):
            try:
                limits.append(_limit(item))
            except PydanticCustomError as error:
                fail(str(error), (error.context or {}).get("hint"), at=(i,))
        return tuple(limits)
    fail(f"must be a number of waves or a list of wave sizes, got {describe(value)}",
         "such as `3` or `[1, 10%, 100%]`")


_LIMIT_SCHEMA = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": _PERCENT.pattern}]}
LimitValue = Annotated[Limit, PlainValidator(_limit), WithJsonSchema(_LIMIT_SCHEMA)]
WavesValue = Annotated[
    Union[int, tuple[Limit, ...]],
    PlainValidator(_waves),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"type": "array", "items": _LIMIT_SCHEMA}]}),
]


class PolicySpec(Spec):
    """``policy:``: safety limits for apply, validated here and enforced by the engine."""

    max_pauses: LimitValue | None = None
    max_deletions: LimitValue | None = None
    max_target_removals: LimitValue | None = None
    max_settings_updates: LimitValue | None = None
    max_activations: LimitValue | None = None
    waves: WavesValue | None = None
    max_fail: LimitValue | None = None


# -- captions -------------------------------------------------------------------------------

def _library(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        fail(f"must be a mapping of title to caption, got {describe(value)}",
             'such as `Summer sale: "{Summer sale|Sale time} ..."`')
    out: dict[str, str] = {}
    for title, text in value.items():
        if isinstance(title, bool) or not isinstance(title, (str, int, float)) or not str(title).strip():
            fail("a caption title must be text", at=(title,), on_key=True)
        if not isinstance(text, str):
            fail(f"caption `{title}` must be text, got {describe(text)}", at=(title,))
        if not text.strip():
            fail(f"caption `{title}` is empty", at=(title,))
        problem = spintax.check(text)
        if problem is not None:
            fail(f"unbalanced spintax in caption `{title}`: {problem}",
                 "every `{` needs a `}`; alternatives are written `{a|b|c}`", at=(title,))
        out[str(title)] = text
    return out


Library = Annotated[dict[str, str], PlainValidator(_library),
                    WithJsonSchema({"type": "object", "additionalProperties": {"type": "string"}})]


class CaptionsSpec(Spec):
    """``captions:``: the caption library of the API key's user, keyed by title."""

    prune: StrictBool | None = None
    library: Library


# -- a file ---------------------------------------------------------------------------------

def _version(value: Any) -> int:
    if value != SUPPORTED_VERSION or isinstance(value, bool):
        fail(f"unsupported playbook version {value!r}", f"this orchestrator reads `version: {SUPPORTED_VERSION}`")
    return SUPPORTED_VERSION


class PlaybookSpec(Spec):
    """One playbook file."""

    version: Annotated[int, PlainValidator(_version), WithJsonSchema({"const": 1})] | None = None
    groups: dict[GroupName, GroupSpec] = Field(default_factory=dict)
    policy: PolicySpec | None = None
    captions: CaptionsSpec | None = None
    entries: list[EntrySpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> PlaybookSpec:
        if not (self.groups or self.policy or self.captions or self.entries):
            fail("the playbook declares nothing", "add `groups:`, `entries:`, `captions:` or `policy:`")
        return self


def json_schema() -> dict[str, Any]:
    """JSON Schema of a playbook file, for editors (yaml-language-server) and documentation."""
    return PlaybookSpec.model_json_schema(by_alias=True)


__all__ = [
    "AccountSpec", "CaptionsSpec", "CommentSchedule", "CommentTarget", "EntrySpec", "FirstCommentSpec",
    "GroupSpec", "LeadsItem", "Limit", "PlaybookSpec", "PolicySpec", "ReactionsSpec", "ReactionsTarget",
    "RepostSpec", "RepostTarget", "ScheduleSpec", "SettingsSpec", "TargetSpec", "ToggleSpec", "fail",
    "json_schema",
]
