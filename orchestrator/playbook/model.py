"""A loaded playbook: every file's groups, entries, captions and policy, in application order.

One `Playbook` is what several files (or a directory) load into. Groups share one namespace
across the files, so an entry in ``growth.yaml`` may use a group defined in ``groups.yaml``.
Entries keep file order, then entry order: that order is the precedence order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from orchestrator.contract import Kind, Policy, Position
from orchestrator.playbook.errors import Diagnostic, did_you_mean
from orchestrator.playbook.positions import Locator, PositionIndex
from orchestrator.playbook.schema import CaptionsSpec, EntryBase, GroupSpec, PlaybookSpec
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
    playbook = Playbook(tuple(f.name for f in files), groups, tuple(entries), tuple(captions), Policy(**policy))
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
