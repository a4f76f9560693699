"""Playbook leaf values: the parsers of one scalar or small structure each, as pydantic types.

Each parser takes what YAML gave and returns the typed value, or rejects it with `fail`,
whose message and hint `schema_errors` turns into a diagnostic at the value's line. The
models in `orchestrator.playbook.schema` are built from these types.

Conventions that keep the error messages precise:

* a check that needs more than one field raises `fail`, which names the sub-path (``at``) of
  the node at fault, so the diagnostic points at that exact line and column;
* messages describe the offending value with `describe` (``got text `fast```), never a repr.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, NoReturn

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from orchestrator.contract import ACCOUNT_KINDS, Kind, Limit, SecretRef
from orchestrator.contract.desired import CAPTION_MAX
from orchestrator.playbook import spintax
from orchestrator.playbook.errors import closest
from orchestrator.playbook.secret_refs import secret_ref_problem

SUPPORTED_VERSION = 1
SCHEDULE_STATES = ("active", "paused")
LEADS_STATES = ("running", "stopped")
COMMENT_MODES = ("random", "sequential")
#: Entry keys that give desired state, in the order plan reports them.
KIND_KEYS: tuple[str, ...] = tuple(kind.value for kind in ACCOUNT_KINDS)
GLOB_CHARS = frozenset("*?[")

ScheduleState = Literal["active", "paused"]
LeadsState = Literal["running", "stopped"]
CommentMode = Literal["random", "sequential"]


def fail(message: str, hint: str | None = None, at: tuple[str | int | float, ...] = (),
         on_key: bool = False) -> NoReturn:
    """Reject the value being validated.

    ``at`` is the path below the validated node of what is at fault (mapping keys as YAML gave
    them: a caption title may be a number); ``on_key`` points the diagnostic at that node's key
    rather than its value (an unknown or misplaced key).
    """
    raise PydanticCustomError("playbook", "{message}", {"message": message, "hint": hint, "at": at, "on_key": on_key})


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
    str | SecretRef,
    PlainValidator(lambda v: _proxy(v, allow_auto=False)),
    WithJsonSchema({"anyOf": [{"type": "string"}, _SECRET_REF_SCHEMA]}),
]
AccountProxy = Annotated[
    str | SecretRef,
    PlainValidator(lambda v: _proxy(v, allow_auto=True)),
    WithJsonSchema({"anyOf": [{"type": "string"}, _SECRET_REF_SCHEMA]}),
]
SecretRefValue = Annotated[SecretRef, PlainValidator(_secret_ref), WithJsonSchema(_SECRET_REF_SCHEMA)]


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


# -- entries --------------------------------------------------------------------------------

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


def _group_name(value: Any) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        fail(f"`{value}` is not a usable group name", "use letters, digits, `_`, `-` and `.`", on_key=True)
    return value


GroupName = Annotated[str, PlainValidator(_group_name), WithJsonSchema({"type": "string"})]


# -- policy ---------------------------------------------------------------------------------

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


DRIFT_KINDS: tuple[str, ...] = tuple(Kind)


def _drift(value: Any) -> dict[str, str]:
    """``policy.drift``: a kind, or a kind and a path (``reactions.settings.likes_speed``), to
    ``report`` or ``fix`` (what reconcile does about its drift)."""
    if not isinstance(value, Mapping):
        fail(f"must be a mapping of kind or kind.field to `report` or `fix`, got {describe(value)}",
             "such as `reactions.settings.likes_speed: report`")
    out: dict[str, str] = {}
    for key, mode in value.items():
        kind = str(key).split(".", 1)[0]
        if kind not in DRIFT_KINDS:
            fail(f"unknown kind `{kind}` in `{key}`", "one of `" + "`, `".join(DRIFT_KINDS) + "`",
                 at=(key,), on_key=True)
        if mode not in ("report", "fix"):
            fail(f"`{key}` must be `report` or `fix`, got {describe(mode)}", at=(key,))
        out[str(key)] = mode
    return out


DriftValue = Annotated[dict[str, str], PlainValidator(_drift),
                       WithJsonSchema({"type": "object", "additionalProperties": {"enum": ["report", "fix"]}})]
WavesValue = Annotated[
    int | tuple[Limit, ...],
    PlainValidator(_waves),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"type": "array", "items": _LIMIT_SCHEMA}]}),
]


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


# -- posts ----------------------------------------------------------------------------------

#: The playbook's post types and the API's names for them (``reel`` is the API's ``reels``).
POST_TYPES = {"photo": "photo", "video": "video", "album": "album", "reel": "reels", "story": "story"}
#: Other names the API takes for the same types.
POST_TYPE_ALIASES = {"carousel": "album", "reels": "reel"}
#: File types the server always accepts (the reference: jpg, jpeg, png, mp4, gif), and those it
#: accepts only when its video processing is on (refused here: a plan cannot tell).
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif"})
VIDEO_EXTENSIONS = frozenset({"mp4"})
PROCESSED_EXTENSIONS = frozenset({"mov", "m4v", "mpg"})
ALBUM_MIN, ALBUM_MAX = 2, 10
MAX_STAGGER = 7 * 24 * 3600
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_POST_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?$")

PostType = Literal["photo", "video", "album", "reel", "story"]


@dataclass(frozen=True)
class LibraryCaption:
    """``caption: {library: "Winter drop"}``: the text of a caption of the playbook's library."""

    title: str


@dataclass(frozen=True)
class MediaRef:
    """One item of a post's ``media:``: a file beside the playbook, or ``{id: 42}``, a file
    already in the user's media library (as ``import`` writes them)."""

    path: str | None = None
    media_id: int | None = None

    @property
    def extension(self) -> str:
        return extension_of(self.path or "")

    @property
    def kind(self) -> str | None:
        """``image`` or ``video`` for a file (by its extension), None for a library id."""
        if self.path is None:
            return None
        return "video" if self.extension in VIDEO_EXTENSIONS else "image"

    def __str__(self) -> str:
        return self.path if self.path is not None else f"{{id: {self.media_id}}}"


def extension_of(path: str) -> str:
    _, dot, ext = path.rpartition(".")
    return ext.lower() if dot and "/" not in ext else ""


def _post_name(value: Any) -> str:
    if not isinstance(value, str):
        fail(f"a post's name must be text, got {describe(value)}", "such as `name: winter-teaser`")
    if not value.strip() or value != value.strip() or "\n" in value:
        fail("a post's name must be text without spaces around it", "such as `name: winter-teaser`")
    if len(value) > 100:
        fail("a post's name is at most 100 characters")
    return value


def _post_type(value: Any) -> str:
    if isinstance(value, str) and value in POST_TYPE_ALIASES:
        return POST_TYPE_ALIASES[value]
    if isinstance(value, str) and value in POST_TYPES:
        return value
    near = closest(str(value), POST_TYPES) if isinstance(value, str) else None
    fail(f"`type` must be one of `photo`, `video`, `album`, `reel`, `story`, got {describe(value)}",
         f"did you mean `{near}`?" if near else "photo and video take one file, album 2 to 10, reel one video")


def _post_time(value: Any) -> dt.datetime:
    """``2026-12-10T18:00`` (or with a space, seconds, ``Z`` or an offset): naive unless an
    offset is written; the post's ``timezone`` gives a naive time its zone."""
    example = "write `YYYY-MM-DDTHH:MM`, such as `2026-12-10T18:00`"
    if not isinstance(value, str):
        fail(f"`at` must be a date and time, got {describe(value)}", example)
    match = _POST_TIME.match(value.strip())
    if match is None:
        fail(f"`{value}` is not a date and time", example)
    y, mo, d, h, mi, sec = (int(g) if g else 0 for g in match.groups()[:6])
    offset = match.group(7)
    try:
        when = dt.datetime(y, mo, d, h, mi, sec)
    except ValueError:
        fail(f"`{value}` is not a valid date and time", example)
    if offset:
        when = when.replace(tzinfo=dt.UTC if offset == "Z" else
                            dt.datetime.strptime(offset.replace(":", ""), "%z").tzinfo)
    return when


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        fail(f"`timezone` must be a time zone name, got {describe(value)}", "such as `Europe/Paris` or `UTC`")
    if value == "UTC":
        return value  # needs no time zone database
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        names = _zone_names()
        if not names:
            fail(f"unknown time zone `{value}`: this system has no time zone database",
                 "install the tzdata package, or give `at` an offset such as `2026-12-10T18:00+01:00`")
        near = closest(value, names)
        fail(f"unknown time zone `{value}`",
             f"did you mean `{near}`?" if near else "use an IANA name, such as `Europe/Paris`, `America/New_York`")
    return value


def _duration(value: Any) -> int:
    """``stagger``: ``2h``, ``90m``, ``1h30m``, ``45s``, ``1d`` or ``0``, in seconds."""
    hint = "such as `2h`, `90m`, `1h30m` or `0`"
    if (value == 0 and not isinstance(value, bool)) or value == "0":
        return 0
    if not isinstance(value, str) or not value.strip():
        fail(f"must be a duration, got {describe(value)}", hint)
    match = _DURATION.match(value.strip())
    if match is None or not any(match.groups()):
        fail(f"`{value}` is not a duration", hint)
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total > MAX_STAGGER:
        fail(f"`{value}` is longer than 7 days", "a stagger spreads one post over its accounts within hours")
    return total


def _media_ref(value: Any, at: tuple[int, ...]) -> MediaRef:
    if isinstance(value, Mapping):
        if set(value) != {"id"}:
            fail("a library file is written `{id: 42}`", "or give the path of a file beside the playbook", at=at)
        media_id = value["id"]
        if isinstance(media_id, bool) or not isinstance(media_id, int) or media_id < 1:
            fail(f"a media id must be a positive number, got {describe(media_id)}", at=at)
        return MediaRef(media_id=media_id)
    if not isinstance(value, str) or not value.strip():
        fail(f"a media file must be a path, got {describe(value)}", "such as `media/teaser.jpg`", at=at)
    if value.startswith("~") or os.path.isabs(value) or os.path.normpath(value).split(os.sep)[0] == "..":
        fail(f"media file `{value}` is outside the playbook's directory",
             "keep media files beside the playbooks, such as `media/teaser.jpg`", at=at)
    ext = extension_of(value)
    if ext in PROCESSED_EXTENSIONS:
        fail(f"`{value}`: the server takes .{ext} files only when its video processing is on",
             "convert it to mp4", at=at)
    if ext not in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS:
        fail(f"`{value}` is not a file type the server takes",
             "posts take jpg, jpeg, png, gif and mp4 files", at=at)
    return MediaRef(path=value)


def _media(value: Any) -> tuple[MediaRef, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        fail("a post needs at least one media file", "such as `media: [media/teaser.jpg]`")
    if len(items) > ALBUM_MAX:
        fail(f"a post takes at most {ALBUM_MAX} media files, got {len(items)}")
    refs = [_media_ref(item, (i,) if isinstance(value, list) else ()) for i, item in enumerate(items)]
    seen: set[MediaRef] = set()
    for i, ref in enumerate(refs):
        if ref in seen:
            fail(f"`{ref}` is listed twice", "a post names each file once", at=(i,))
        seen.add(ref)
    return tuple(refs)


def _caption(value: Any) -> str | LibraryCaption:
    if isinstance(value, Mapping):
        if set(value) != {"library"} or not isinstance(value["library"], (str, int)) \
                or isinstance(value["library"], bool) or not str(value["library"]).strip():
            fail("a caption from the library is written `{library: TITLE}`",
                 'such as `caption: {library: "Winter drop"}`')
        return LibraryCaption(str(value["library"]))
    text = _spintax_text(value)
    check_caption_length(text)
    return text


def check_caption_length(text: str, what: str = "the caption") -> None:
    """Instagram takes 2,200 characters; the posts kind keeps a few for its marker."""
    longest = spintax.longest(text.strip())
    if longest > CAPTION_MAX:
        fail(f"{what} can render to {longest:,} characters", f"a post's caption is at most {CAPTION_MAX:,}")


PostName = Annotated[str, PlainValidator(_post_name), WithJsonSchema({"type": "string", "minLength": 1})]
PostTypeValue = Annotated[str, PlainValidator(_post_type),
                          WithJsonSchema({"enum": [*POST_TYPES, *POST_TYPE_ALIASES]})]
PostTime = Annotated[dt.datetime, PlainValidator(_post_time), WithJsonSchema({"type": "string"})]
TimeZoneName = Annotated[str, PlainValidator(_timezone), WithJsonSchema({"type": "string"})]
Duration = Annotated[int, PlainValidator(_duration),
                     WithJsonSchema({"anyOf": [{"type": "string", "pattern": _DURATION.pattern}, {"const": 0}]})]
MediaList = Annotated[
    tuple[MediaRef, ...], PlainValidator(_media),
    WithJsonSchema({"type": "array", "minItems": 1, "maxItems": ALBUM_MAX, "items": {"anyOf": [
        {"type": "string"},
        {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"],
         "additionalProperties": False}]}}),
]
PostCaption = Annotated[
    str | LibraryCaption, PlainValidator(_caption),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "object", "properties": {"library": {"type": "string"}},
                                                   "required": ["library"], "additionalProperties": False}]}),
]


# -- a file ---------------------------------------------------------------------------------

def _version(value: Any) -> int:
    if value != SUPPORTED_VERSION or isinstance(value, bool):
        fail(f"unsupported playbook version {value!r}", f"this orchestrator reads `version: {SUPPORTED_VERSION}`")
    return SUPPORTED_VERSION


Version = Annotated[int, PlainValidator(_version), WithJsonSchema({"const": SUPPORTED_VERSION})]
