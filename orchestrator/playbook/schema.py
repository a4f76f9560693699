"""The playbook format as pydantic models: one model per kind, validated from one file's data.

These models say what a playbook file may contain and check everything that can be checked
from the file alone. Their leaf types come from `orchestrator.playbook.values`; the values the
merge uses are held as `Sourced` (a ``SourcedValue[T]`` field, see `orchestrator.playbook.sourcing`),
so each carries the position it was loaded from into the desired state.

Conventions that keep the error messages precise (see `schema_errors`):

* leaves use strict types: ``likes_speed: "3"`` is text, not a number, and says so;
* a check that needs more than one field raises `fail`, which names the sub-path (``at``) of
  the node at fault, so the diagnostic points at that exact line and column;
* the two-form fields (``leads:`` one mapping or a list) use a discriminated union whose tags
  start with ``§`` and are dropped from error locations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    create_model,
    model_validator,
)

from orchestrator.contract.kinds import ACCOUNT_KINDS, Kind, Shape
from orchestrator.contract.kinds import info as kind_info
from orchestrator.contract.sourced import Sourced
from orchestrator.playbook.errors import closest, one_edit_apart, one_of
from orchestrator.playbook.fields import MODULE_NAMES, SETTINGS, FieldSpec, FieldType
from orchestrator.playbook.sourcing import Placed, SourcedModel, SourcedValue, SourcedValues
from orchestrator.playbook.target_types import (
    REACTIONS_TARGET_TYPES,
    REPOST_TARGET_TYPES,
    TargetType,
    ValueKind,
    id_problem,
    value_problem,
)
from orchestrator.playbook.values import (
    KIND_KEYS,
    AccountProxy,
    AccountRefs,
    Comment,
    CommentMode,
    CustomProxy,
    DateTime,
    DriftValue,
    Duration,
    ExcludeRefs,
    GroupName,
    GroupNames,
    LeadsState,
    Library,
    LimitValue,
    MediaList,
    Patterns,
    PostCaption,
    PostName,
    PostTime,
    PostTypeValue,
    RepostTimes,
    ScheduleState,
    SecretRefValue,
    SpintaxText,
    TargetId,
    TargetText,
    Time,
    TimeZoneName,
    Version,
    WavesValue,
    ALBUM_MAX,
    ALBUM_MIN,
    describe,
    fail,
)
from orchestrator.playbook.windows import When


class Spec(SourcedModel):
    """Base of every playbook model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _locate(cls, data: Any) -> Any:
        return cls.locate_fields(data)



# -- settings -------------------------------------------------------------------------------

def _annotation(spec: FieldSpec) -> Any:
    """The pydantic type of one settings field: its value type, held with its position."""
    return SourcedValue[_value_type(spec)]  # type: ignore[misc]


def _value_type(spec: FieldSpec) -> Any:
    bounds: dict[str, Any] = {k: v for k, v in (("ge", spec.minimum), ("le", spec.maximum)) if v is not None}
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
            return Literal[spec.choices]
        case FieldType.PROXY:
            return CustomProxy
        case FieldType.REPOST_TIMES:
            return RepostTimes
    raise AssertionError(spec.type)  # pragma: no cover


class SettingsSpec(SourcedModel):
    """Base of the per-module settings models; fields are built from `orchestrator.playbook.fields`.

    ``sourced()`` gives exactly the fields the playbook names, by their API names, each with
    its position; ``as_dict()`` the same without positions.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)
    MODULE: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _locate(cls, data: Any) -> Any:
        # An open module keeps its unlisted fields, unvalidated, with their positions too.
        return cls.locate_fields(data, extra_sourced=cls.model_config.get("extra") == "allow")

    def sourced(self) -> dict[str, Sourced[Any]]:
        """The fields the playbook names (listed ones in declaration order, then the others)."""
        out: dict[str, Sourced[Any]] = {
            field.alias or name: getattr(self, name)
            for name, field in type(self).model_fields.items() if name in self.model_fields_set
        }
        out.update(self.model_extra or {})
        return out

    def as_dict(self) -> dict[str, Any]:
        return {name: value.value for name, value in self.sourced().items()}


def _settings_model(module: str) -> type[SettingsSpec]:
    fields, is_open = SETTINGS[module]
    definitions: dict[str, Any] = {
        # Fields are optional but never null: the default is not validated, an explicit `~` is.
        name.replace(".", "__"): (_annotation(spec), Field(default=None, alias=name, description=spec.doc))
        for name, spec in fields.items()
    }
    model = create_model(
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
    for key, sourced in (settings.model_extra or {}).items():
        value = sourced.value
        near = next((name for name in fields if one_edit_apart(str(key), name)), None)
        if near is not None:
            fail(f"unknown {MODULE_NAMES[settings.MODULE]} setting `{key}`", f"did you mean `{near}`?",
                 at=(key,), on_key=True)
        if not isinstance(value, (bool, int, float, str)):
            fail(f"setting `{key}` must be a single value, got {describe(value)}",
                 "settings are flat: `name: value`", at=(key,))
    return settings


_ReactionsSettingsBase = _settings_model("reactions")
ReactionsSettings = Annotated[_ReactionsSettingsBase, AfterValidator(_check_open_settings)]  # type: ignore[valid-type]
RepostSettings = _settings_model("repost")


# -- targets --------------------------------------------------------------------------------

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


ReactionsTargets = Annotated[list[ReactionsTarget], AfterValidator(_no_duplicate_targets), Placed()]
RepostTargets = Annotated[list[RepostTarget], AfterValidator(_no_duplicate_targets), Placed()]



# -- kinds ----------------------------------------------------------------------------------

class ScheduleSpec(Spec):
    """Desired state of a Reactions Pro or Repost Pro schedule (one per account)."""

    state: SourcedValue[ScheduleState] | None = None
    targets: list[Any] | None = None
    prune: SourcedValue[StrictBool] | None = None

    @model_validator(mode="after")
    def _check(self) -> ScheduleSpec:
        if all(getattr(self, f) is None for f in ("state", "settings", "targets", "prune")):
            fail("says nothing", "give at least one of `state`, `settings`, `targets`")
        if self.prune is not None and self.prune.value and self.targets is None:
            fail("`prune: true` needs a `targets` list",
                 "prune makes the listed targets exact; write `targets: []` to remove every target",
                 at=("prune",), on_key=True)
        return self


class ReactionsSpec(ScheduleSpec):
    """``reactions:``: Reactions Pro (likes, follows, stories, DMs)."""

    settings: ReactionsSettings | None = None
    targets: ReactionsTargets | None = None


class RepostSpec(ScheduleSpec):
    """``repost:``: Repost Pro."""

    settings: RepostSettings | None = None  # type: ignore[valid-type]
    targets: RepostTargets | None = None


class ToggleSpec(Spec):
    """A toggle kind's entry (Welcome DM, AI-DM): the schedule on or off."""

    state: SourcedValue[ScheduleState]


class LeadsItem(Spec):
    """One Leads Finder state: for the schedule called ``task_name``, or all when omitted."""

    task_name: StrictStr | None = None
    state: SourcedValue[LeadsState]


def _no_duplicate_tasks(items: list[LeadsItem]) -> list[LeadsItem]:
    seen: set[str | None] = set()
    for i, item in enumerate(items):
        if item.task_name in seen:
            what = f"task `{item.task_name}`" if item.task_name is not None else "every task (no `task_name`)"
            fail(f"{what} is listed twice", "give each task one state", at=(i,))
        seen.add(item.task_name)
    return items


LeadsField = Annotated[
    Annotated[Annotated[list[LeadsItem], AfterValidator(_no_duplicate_tasks)], Tag("§list")]
    | Annotated[LeadsItem, Tag("§one")],
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
    targets: SourcedValue[Annotated[list[CommentTarget], Field(min_length=1)]] | None = None
    comments: SourcedValue[Annotated[list[Comment], Field(min_length=1)]] | None = None
    mode: SourcedValue[CommentMode] | None = None
    state: SourcedValue[ScheduleState] | None = None

    @model_validator(mode="after")
    def _check(self) -> CommentSchedule:
        if self.name is None and self.targets is None:
            fail("a schedule without a `name` needs `targets`",
                 "its targets identify it; add `targets`, or a `name` to refer to a schedule defined elsewhere")
        if self.name is not None and not self.name.strip():
            fail("`name` must not be empty", at=("name",))
        seen: set[str] = set()
        for i, target in enumerate(self.targets.value if self.targets is not None else ()):
            if target.username.casefold() in seen:
                fail(f"duplicate target `{target.username}`", "list each account once", at=("targets", i))
            seen.add(target.username.casefold())
        return self

    @property
    def match_key(self) -> frozenset[str] | None:
        """The sorted set of target usernames, lower-cased: how a live schedule is recognised."""
        if self.targets is None:
            return None
        return frozenset(t.username.casefold() for t in self.targets.value)

    @property
    def key(self) -> str:
        """The merge key across entries: the name, or the target set."""
        if self.name is not None:
            return f"name:{self.name}"
        return "targets:" + ",".join(sorted(self.match_key or ()))


class FirstCommentSpec(Spec):
    """``first_comment:``: an account's First Comment schedules."""

    prune: SourcedValue[StrictBool] | None = None
    schedules: Annotated[list[CommentSchedule], Placed()]

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


class PostSpec(Spec):
    """One post of a content calendar: ``posts:`` lists them per entry.

    ``name`` is the post's identity in the playbook: entries that list the same name merge
    field by field (a later entry may change only the caption of some accounts' copy). Each
    selected account gets one copy, scheduled at ``at`` (in ``timezone``, UTC by default) plus
    an offset within ``stagger`` derived from the post's name and the account."""

    name: PostName
    type: SourcedValue[PostTypeValue] | None = None
    media: SourcedValue[MediaList] | None = None
    caption: SourcedValue[PostCaption] | None = None
    at: SourcedValue[PostTime] | None = None
    timezone: SourcedValue[TimeZoneName] | None = None
    stagger: SourcedValue[Duration] | None = None

    @model_validator(mode="after")
    def _check(self) -> PostSpec:
        if self.type is not None and self.media is not None:
            problem = post_shape_problem(self.type.value, [m.kind for m in self.media.value])
            if problem:
                fail(problem, "photo and story take one file, video and reel one mp4, album 2 to 10 files",
                     at=("media",))
        if self.at is not None and self.at.value.tzinfo is not None and self.timezone is not None:
            fail("`at` already carries its offset", "give the zone once: drop the offset or `timezone`",
                 at=("timezone",), on_key=True)
        return self


def post_shape_problem(post_type: str, kinds: list[str | None]) -> str | None:
    """Why files of these kinds (image, video, or None for a library id) cannot make a
    ``post_type`` post, or None (as the server checks it)."""
    if post_type == "album":
        if not ALBUM_MIN <= len(kinds) <= ALBUM_MAX:
            return f"an album takes {ALBUM_MIN} to {ALBUM_MAX} media files, got {len(kinds)}"
        return None
    if len(kinds) != 1:
        return f"a {post_type} takes exactly one media file, got {len(kinds)}"
    wanted = {"photo": "image", "video": "video", "reel": "video"}.get(post_type)
    if wanted and kinds[0] not in (None, wanted):
        return f"a {post_type} takes {'an image' if wanted == 'image' else 'a video (mp4)'}"
    return None


def _no_duplicate_posts(posts: list[PostSpec]) -> list[PostSpec]:
    seen: dict[str, int] = {}
    for i, post in enumerate(posts):
        if post.name in seen:
            fail(f"post `{post.name}` is listed twice (also item {seen[post.name] + 1})",
                 "a name is a post's identity: give each post its own", at=(i, "name"))
        seen[post.name] = i
    return posts


PostsField = Annotated[list[PostSpec], AfterValidator(_no_duplicate_posts), Placed()]


class AccountSpec(Spec):
    """``account:``: account-level settings."""

    proxy: SourcedValue[AccountProxy] | None = None
    password: SourcedValue[SecretRefValue] | None = None

    @model_validator(mode="after")
    def _check(self) -> AccountSpec:
        if self.proxy is None and self.password is None:
            fail("says nothing", "give `proxy`")
        return self


class EntryBase(Spec):
    """What every item of ``entries:`` has; `EntrySpec` adds a field per kind from the registry
    of kinds (``contract.kinds``), in `Kind` order."""

    name: StrictStr | None = None
    groups: GroupNames
    #: Windows the entry applies in (`orchestrator.playbook.windows`); None: always.
    when: When | None = None

    @model_validator(mode="after")
    def _check(self) -> EntryBase:
        if all(getattr(self, kind) is None for kind in KIND_KEYS):
            fail("entry gives no desired state", f"add at least one of {one_of(KIND_KEYS)}")
        return self

    def of(self, kind: Kind | str) -> Any:
        """What this entry says of ``kind`` (its spec model), or None."""
        return getattr(self, str(kind), None)

    @property
    def leads_items(self) -> tuple[LeadsItem, ...]:
        """``leads:`` as a list, whichever form it was written in."""
        leads = self.of(Kind.LEADS)
        if leads is None:
            return ()
        return tuple(leads) if isinstance(leads, list) else (leads,)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds this entry sets, in `KIND_KEYS` order."""
        return tuple(kind for kind in KIND_KEYS if getattr(self, kind) is not None)


#: The spec of each shape of desired state; a schedule's settings and targets differ by kind.
SPEC_BY_SHAPE: dict[Shape, Any] = {
    Shape.ACCOUNT: AccountSpec, Shape.TOGGLE: ToggleSpec, Shape.TASKS: LeadsField,
    Shape.COMMENT_SCHEDULES: FirstCommentSpec, Shape.POSTS: PostsField,
}
SCHEDULE_SPECS: dict[Kind, type[ScheduleSpec]] = {Kind.REACTIONS: ReactionsSpec, Kind.REPOST: RepostSpec}


def _kind_spec(kind: Kind) -> Any:
    shape = kind_info(kind).shape
    return SCHEDULE_SPECS[kind] if shape is Shape.SCHEDULE else SPEC_BY_SHAPE[shape]


EntrySpec: type[EntryBase] = create_model(  # type: ignore[call-overload]
    "EntrySpec",
    __base__=EntryBase,
    __doc__="One item of ``entries:``: desired state per kind for the accounts of ``groups``.",
    __module__=__name__,
    **{kind.value: (_kind_spec(kind) | None, None) for kind in ACCOUNT_KINDS},
)


# -- groups ---------------------------------------------------------------------------------

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


# -- policy ---------------------------------------------------------------------------------

class PolicySpec(Spec):
    """``policy:``: safety limits for apply, validated here and enforced by the engine."""

    max_pauses: SourcedValue[LimitValue] | None = None
    max_deletions: SourcedValue[LimitValue] | None = None
    max_target_removals: SourcedValue[LimitValue] | None = None
    max_settings_updates: SourcedValue[LimitValue] | None = None
    max_activations: SourcedValue[LimitValue] | None = None
    waves: SourcedValue[WavesValue] | None = None
    max_fail: SourcedValue[LimitValue] | None = None
    drift: SourcedValue[DriftValue] | None = None
    max_posts_per_day: SourcedValue[Annotated[StrictInt, Field(ge=1)]] | None = None


# -- captions -------------------------------------------------------------------------------

class CaptionsSpec(Spec):
    """``captions:``: the caption library of the API key's user, keyed by title."""

    prune: SourcedValue[StrictBool] | None = None
    library: Annotated[dict[str, Sourced[str]], SourcedValues(Library)]



# -- a file ---------------------------------------------------------------------------------

class PlaybookSpec(Spec):
    """One playbook file."""

    version: Version | None = None
    groups: dict[GroupName, GroupSpec] = Field(default_factory=dict)
    policy: PolicySpec | None = None
    captions: CaptionsSpec | None = None
    entries: Annotated[list[EntrySpec], Placed()] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> PlaybookSpec:
        if not (self.groups or self.policy or self.captions or self.entries):
            fail("the playbook declares nothing", "add `groups:`, `entries:`, `captions:` or `policy:`")
        return self


def json_schema() -> dict[str, Any]:
    """JSON Schema of a playbook file, for editors (yaml-language-server) and documentation."""
    return PlaybookSpec.model_json_schema(by_alias=True)


__all__ = [
    "AccountSpec", "CaptionsSpec", "CommentSchedule", "CommentTarget", "EntryBase", "EntrySpec", "FirstCommentSpec",
    "GroupSpec", "LeadsItem", "PlaybookSpec", "PolicySpec", "PostSpec", "ReactionsSpec", "ReactionsTarget",
    "RepostSpec", "RepostTarget", "ScheduleSpec", "SettingsSpec", "TargetSpec", "ToggleSpec", "fail",
    "json_schema",
]
