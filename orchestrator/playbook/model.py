"""A loaded playbook: every file's groups, entries, captions and policy, in application order.

One `Playbook` is what several files (or a directory) load into. Groups share one namespace
across the files, so an entry in ``growth.yaml`` may use a group defined in ``groups.yaml``.
Entries keep file order, then entry order: that order is the precedence order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from orchestrator.contract import Kind, Policy, Position, Shape, Sourced
from orchestrator.contract.kinds import of_shape
from orchestrator.playbook import spintax
from orchestrator.playbook.errors import Diagnostic, did_you_mean
from orchestrator.playbook.media import LocalMedia, MediaProblem, check_media
from orchestrator.playbook.positions import Locator, PositionIndex
from orchestrator.playbook.schema import CaptionsSpec, EntryBase, GroupSpec, PlaybookSpec, PostSpec
from orchestrator.playbook.values import CAPTION_MAX, LibraryCaption
from orchestrator.playbook.windows import Windows, windows_of


@dataclass(frozen=True)
class Group:
    """A named selection of accounts, as written (resolve it with `resolve_groups`)."""

    name: str
    spec: GroupSpec
    source: Position  # the group's name
    locator: Locator  # ("groups", name) in its file


@dataclass(frozen=True)
class Entry:
    """One item of ``entries:``; ``number`` is its place in the whole playbook's order."""

    number: int
    spec: EntryBase
    source: Position
    locator: Locator  # ("entries", i) in its file

    @property
    def groups(self) -> tuple[str, ...]:
        return self.spec.groups

    @property
    def label(self) -> str:
        """The entry's ``name``, or where it starts."""
        return self.spec.name or f"entry at {self.source}"

    @cached_property
    def windows(self) -> Windows | None:
        """When the entry applies (``when:``); None: always."""
        return windows_of(self.spec.when) if self.spec.when is not None else None

    @property
    def when_source(self) -> Position:
        """Where the entry's ``when:`` is written (its key)."""
        return self.locator.key_at("when")


@dataclass(frozen=True)
class CaptionsBlock:
    """One top-level ``captions:`` section."""

    spec: CaptionsSpec
    locator: Locator  # ("captions",) in its file


@dataclass(frozen=True)
class Playbook:
    """Every file loaded together, validated; the input of `desired_state`."""

    files: tuple[str, ...]
    groups: Mapping[str, Group]
    entries: tuple[Entry, ...]
    captions: tuple[CaptionsBlock, ...] = ()
    policy: Policy = field(default_factory=Policy)
    #: The SHA-256 of every file's name and the text that was loaded (``text_hash``): what a
    #: saved plan and the history name, never the files as they are on disk later.
    digest: str = ""
    #: The media files posts name, checked and hashed: (playbook file, path as written) -> file.
    media: Mapping[tuple[str, str], LocalMedia] = field(default_factory=dict)

    @cached_property
    def caption_library(self) -> dict[str, Sourced[str]]:
        """The caption library the ``captions:`` sections make (title -> text), merged as the
        plan merges it; posts name captions of it (``caption: {library: TITLE}``)."""
        return caption_library(self.captions)


def caption_library(blocks: Sequence[CaptionsBlock]) -> dict[str, Sourced[str]]:
    """``captions:`` sections merged in file order: a section with ``prune: true`` replaces
    what came before it (see ``merge.desired_state``, which builds the same library)."""
    library: dict[str, Sourced[str]] = {}
    for block in blocks:
        listed = dict(block.spec.library)
        if block.spec.prune is not None and block.spec.prune.value:
            library = listed
        else:
            library.update(listed)
    return library


@dataclass(frozen=True)
class ValidFile:
    """One file that passed schema validation."""

    name: str
    spec: PlaybookSpec
    index: PositionIndex


def assemble(files: list[ValidFile], complete: bool = True) -> tuple[Playbook, list[Diagnostic]]:
    """Combine validated files into one `Playbook`, with the checks that need all of them:
    group names defined once, entries naming defined groups, and first-comment schedules
    named somewhere with their targets.

    ``complete=False`` says some files failed validation: a group they define is missing
    here, so unknown group names are not reported (the broken file is, already)."""
    problems: list[Diagnostic] = []
    groups: dict[str, Group] = {}
    entries: list[Entry] = []
    captions: list[CaptionsBlock] = []
    policy: dict[str, Any] = {}
    for file in files:
        root = Locator(file.index, ())
        for name, group in file.spec.groups.items():
            if name in groups:
                problems.append(Diagnostic.at(
                    root.key_at("groups", name), f"group `{name}` is already defined at {groups[name].source}",
                    "files loaded together share one set of group names: rename one", path=f"groups.{name}"))
                continue
            groups[name] = Group(name, group, root.key_at("groups", name), root.child("groups", name))
        for i, entry in enumerate(file.spec.entries):
            locator = root.child("entries", i)
            entries.append(Entry(len(entries), entry, entry.source, locator))
        if file.spec.captions is not None:
            captions.append(CaptionsBlock(file.spec.captions, root.child("captions")))
        if file.spec.policy is not None:
            for name in file.spec.policy.model_fields_set:
                policy[name] = getattr(file.spec.policy, name)
    if complete:
        problems += _unknown_groups(entries, groups, [f.name for f in files])
    problems += _schedules_without_targets(entries)
    problems += _windowed_names(entries)
    media, found = _check_posts(entries, caption_library(captions))
    problems += found
    playbook = Playbook(tuple(f.name for f in files), groups, tuple(entries), tuple(captions), Policy(**policy),
                        media=media)
    return playbook, problems


def _unknown_groups(entries: list[Entry], groups: Mapping[str, Group], files: list[str]) -> list[Diagnostic]:
    problems = []
    for entry in entries:
        listed = entry.locator.index.exists(entry.locator.prefix + ("groups", 0))
        for i, name in enumerate(entry.groups):
            if name in groups:
                continue
            where = entry.locator.at("groups", i) if listed else entry.locator.at("groups")
            hint = did_you_mean(name, groups)
            if hint is None:
                loaded = ", ".join(files)
                hint = (f"no file loaded ({loaded}) defines it: define it under `groups:`, "
                        "or load the file that does (`orchestrator validate playbooks/`)")
            problems.append(Diagnostic.at(where, f"unknown group `{name}`", hint, path="groups"))
    return problems


def _windowed_names(entries: list[Entry]) -> list[Diagnostic]:
    """An entry with ``when:`` has a name of its own: the state database remembers by it what
    the entry's window added (to take it back when the window closes), and plans, history
    and metrics name the window by it."""
    problems: list[Diagnostic] = []
    seen: dict[str, Position] = {}
    for entry in entries:
        if entry.spec.when is None:
            continue
        if entry.spec.name is None or not entry.spec.name.strip():
            problems.append(Diagnostic.at(
                entry.when_source, "an entry with `when:` needs a `name`",
                "its name is how the orchestrator remembers what the window added, and how plans, "
                "history and metrics call it: add `name: ...`", path="when"))
            continue
        if entry.spec.name in seen:
            problems.append(Diagnostic.at(
                entry.locator.at("name"), f"another entry with `when:` is named `{entry.spec.name}` "
                f"(at {seen[entry.spec.name]})", "give each windowed entry its own name", path="name"))
            continue
        seen[entry.spec.name] = entry.locator.at("name")
    return problems


def _schedules_without_targets(entries: list[Entry]) -> list[Diagnostic]:
    """A named first-comment schedule must get its targets somewhere: they identify it live."""
    first_seen: dict[str, Position] = {}
    with_targets: set[str] = set()
    for entry in entries:
        spec = entry.spec.of(Kind.FIRST_COMMENT)
        if spec is None:
            continue
        for schedule in spec.schedules:
            if schedule.name is None:
                continue
            first_seen.setdefault(schedule.name, schedule.source)
            if schedule.targets is not None:
                with_targets.add(schedule.name)
    return [
        Diagnostic.at(position, f"first-comment schedule `{name}` never gets `targets`",
                      "a live schedule is recognised by its targets: give them where the schedule is first named")
        for name, position in first_seen.items() if name not in with_targets
    ]


def _posts_of(entry: Entry) -> list[tuple[Kind, int, PostSpec]]:
    return [(kind, i, post) for kind in of_shape(Shape.POSTS) for i, post in enumerate(entry.spec.of(kind) or ())]


def _check_posts(entries: list[Entry], library: Mapping[str, Sourced[str]]
                 ) -> tuple[dict[tuple[str, str], LocalMedia], list[Diagnostic]]:
    """The media files of every post, checked and hashed; library captions that exist and
    fit; and every post given its `media` and `at` somewhere (each entry may give some fields:
    they merge by the post's name)."""
    media: dict[tuple[str, str], LocalMedia] = {}
    problems: list[Diagnostic] = []
    first_seen: dict[str, Position] = {}
    given: dict[str, set[str]] = {}
    for entry in entries:
        for kind, i, post in _posts_of(entry):
            first_seen.setdefault(post.name, post.source)
            given.setdefault(post.name, set()).update(f for f in ("media", "at") if getattr(post, f) is not None)
            for j, ref in enumerate(post.media.value if post.media is not None else ()):
                if ref.path is None or (entry.source.file, ref.path) in media:
                    continue
                try:
                    media[(entry.source.file, ref.path)] = check_media(ref.path, entry.source.file)
                except MediaProblem as problem:
                    path = f"{kind.value}[{i}].media[{j}]"
                    at = entry.locator.at(kind.value, i, "media", j)
                    if not entry.locator.index.exists(entry.locator.prefix + (kind.value, i, "media", j)):
                        at, path = entry.locator.at(kind.value, i, "media"), f"{kind.value}[{i}].media"  # one file
                    problems.append(Diagnostic.at(at, f"`{path}`: {problem.message}", problem.hint, path=path))
            caption = post.caption.value if post.caption is not None else None
            if isinstance(caption, LibraryCaption):
                where, path = entry.locator.at(kind.value, i, "caption", "library"), f"{kind.value}[{i}].caption"
                text = library.get(caption.title)
                if text is None:
                    problems.append(Diagnostic.at(
                        where, f"`{path}`: the caption library has no caption `{caption.title}`",
                        did_you_mean(caption.title, library) or "add it under `captions: library:`", path=path))
                elif (longest := spintax.longest(text.value.strip())) > CAPTION_MAX:
                    problems.append(Diagnostic.at(
                        where, f"`{path}`: caption `{caption.title}` can render to {longest:,} characters",
                        f"a post's caption is at most {CAPTION_MAX:,}", path=path))
    for name, position in first_seen.items():
        missing = [f for f in ("media", "at") if f not in given[name]]
        if missing:
            problems.append(Diagnostic.at(
                position, f"post `{name}` never gets {' or '.join(f'`{f}`' for f in missing)}",
                "give them where the post is first listed; later entries may change single fields"))
    return media, problems


def text_hash(sources: Iterable[tuple[str, str]]) -> str:
    """The hash of playbook files as loaded: each file's name and text (UTF-8), in order. The
    same bytes as the files' when they are unchanged, so a plan saved before keeps its hash."""
    digest = hashlib.sha256()
    for name, text in sources:
        digest.update(name.encode() + b"\0" + text.encode("utf-8") + b"\0")
    return "sha256:" + digest.hexdigest()
