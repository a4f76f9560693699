"""Property: merging is deterministic and respects order, however the entries are split into files.

Entries are generated at random (settings, state, targets, prune, for overlapping groups) and
written one per line, so the line a desired value cites says which entry set it. A direct
model of the precedence rules predicts every value and its entry; the real merge must agree.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.contract import Kind, ScheduleDesired
from orchestrator.playbook import Source, desired_state, load_sources
from tests.playbook.conftest import DEMO_ACCOUNTS

GROUPS = "groups:\n  all: {all: true}\n  fashion: {usernames: fashion_*}\n  flagships: {accounts: [1, 2]}\n"
MEMBERS = {"all": {a.id for a in DEMO_ACCOUNTS}, "fashion": set(range(1, 9)), "flagships": {1, 2}}
HASHTAGS = ["ootd", "OOTD", "style", "summer", "luxury", "vip"]

settings_st = st.fixed_dictionaries({}, optional={
    "likes_speed": st.integers(1, 5),
    "follow_speed": st.integers(1, 5),
    "is_follow": st.booleans(),
    "daily_pause_from": st.sampled_from(["22:00", "23:30", "00:15"]),
})


@st.composite
def targets_st(draw: st.DrawFn) -> list[dict[str, str]]:
    chosen = draw(st.lists(st.sampled_from(HASHTAGS), max_size=4, unique_by=str.casefold))
    return [{"hashtag": tag} for tag in chosen]


reactions_st = st.fixed_dictionaries({}, optional={
    "state": st.sampled_from(["active", "paused"]),
    "settings": settings_st,
    "targets": targets_st(),
    "prune": st.booleans(),
}).filter(lambda r: r and not (r.get("prune") and "targets" not in r))

entry_st = st.fixed_dictionaries({"groups": st.sampled_from(sorted(MEMBERS)), "reactions": reactions_st})


def files_for(entries: list[dict[str, Any]], cuts: list[int]) -> list[Source]:
    """The groups file, then the entries split at ``cuts``, one entry per line."""
    sources = [Source("0-groups.yaml", GROUPS)]
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(entries))), len(entries)]
    for n, (start, end) in enumerate(itertools.pairwise(bounds), start=1):
        lines = [f"  - {json.dumps(e)}" for e in entries[start:end]]
        sources.append(Source(f"{n}-entries.yaml", "entries:\n" + "\n".join(lines) + "\n"))
    return sources


def entry_of(sources: list[Source]) -> dict[tuple[str, int], int]:
    """(file, line) -> global entry index."""
    out, n = {}, 0
    for source in sources[1:]:
        for line in range(2, source.text.count("\n") + 1):
            out[(source.name, line)] = n
            n += 1
    return out


def predict(entries: list[dict[str, Any]], account_id: int) -> dict[str, Any] | None:
    """The precedence rules, written directly: (value, entry index) per field."""
    state = prune = None
    fields: dict[str, tuple[Any, int]] = {}
    targets: dict[str, tuple[str, int]] | None = None
    touched = False
    for i, entry in enumerate(entries):
        if account_id not in MEMBERS[entry["groups"]]:
            continue
        touched = True
        r = entry["reactions"]
        if "state" in r:
            state = (r["state"], i)
        for name, value in r.get("settings", {}).items():
            fields[name] = (value, i)
        if "prune" in r:
            prune = (r["prune"], i)
        if "targets" in r:
            listed = {t["hashtag"].casefold(): (t["hashtag"], i) for t in r["targets"]}
            targets = listed if (r.get("prune") or targets is None) else {**targets, **listed}
    if not touched:
        return None
    return {"state": state, "settings": fields, "prune": prune,
            "targets": None if targets is None else list(targets.values())}


def observed(desired: ScheduleDesired | None, lines: dict[tuple[str, int], int]) -> dict[str, Any] | None:
    if desired is None:
        return None

    def at(sourced: Any) -> tuple[Any, int] | None:
        return None if sourced is None else (sourced.value, lines[(sourced.file, sourced.line)])

    return {
        "state": at(desired.state),
        "settings": {name: at(value) for name, value in desired.settings.items()},
        "prune": at(desired.prune),
        "targets": (None if desired.targets is None
                    else [(t.value.value, lines[(t.file, t.line)]) for t in desired.targets]),
    }


@settings(max_examples=40, deadline=None)
@given(entries=st.lists(entry_st, min_size=1, max_size=8), cuts=st.lists(st.integers(0, 8), max_size=3))
def test_merge_is_deterministic_and_order_respecting(entries: list[dict[str, Any]], cuts: list[int]) -> None:
    sources = files_for(entries, cuts)
    lines = entry_of(sources)
    state = desired_state(load_sources(sources), DEMO_ACCOUNTS)

    # Deterministic: the same input gives an equal result, in the same order.
    again = desired_state(load_sources(sources), DEMO_ACCOUNTS)
    assert again == state and list(again.items()) == list(state.items())

    # Order-respecting: every value, and the entry it cites, is what the rules predict.
    for account in (1, 2, 5, 9, 25):
        got = state.get(account, Kind.REACTIONS)
        assert got is None or isinstance(got, ScheduleDesired)
        assert observed(got, lines) == predict(entries, account)

    # Splitting the same entries into files differently changes only the positions.
    single = desired_state(load_sources(files_for(entries, [])), DEMO_ACCOUNTS)
    values = lambda s: [(a.id, k, _plain(d)) for a, k, d in s.items()]  # noqa: E731
    assert values(single) == values(state)


def _plain(desired: Any) -> Any:
    assert isinstance(desired, ScheduleDesired)
    return (
        desired.state and desired.state.value,
        {k: v.value for k, v in desired.settings.items()},
        desired.prune and desired.prune.value,
        None if desired.targets is None else [t.value for t in desired.targets],
    )
