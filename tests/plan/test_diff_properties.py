"""Property tests of the pure diffs: for generated desired and live states,

(a) the diff is deterministic: the same input gives the same changes, whatever the order of
    the live items (targets, captions, schedules: sets whose order means nothing);
(b) applying its changes to the live state, with a small simulator of what the API does for
    each action, gives a live state whose diff is empty (and the API refuses nothing).

Desired values are built with the playbook's own types; live states have the shapes the
kinds' ``read()`` produce. The simulator follows the emulator (the faithful API model): a
target is stored trimmed and without ``#``/``@``, with an empty value for types that take none,
and a second target of the same type with the same value (or, for id types, the same id) is a
409; settings are stored as sent; captions and first-comment schedules get fresh ids.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.contract import (
    Account,
    CaptionsDesired,
    CommentScheduleDesired,
    CommentTarget,
    FirstCommentDesired,
    Kind,
    Position,
    ScheduleDesired,
    Sourced,
    Target,
)
from orchestrator.contract.target_types import TARGET_TYPES, ValueKind
from orchestrator.kinds import KindRegistry
from orchestrator.plan import ACTION_ORDER, Change, Plan

KINDS = KindRegistry.default()

ACCOUNT = Account(7, "fashion_muse")
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_line = itertools.count(1)


def at(value: Any) -> Sourced[Any]:
    return Sourced(value, Position("gen.yaml", next(_line) % 500 + 1, 5))


# -- the API, simulated ------------------------------------------------------------------------
class Refused(AssertionError):
    """The API would refuse a change (a 409 or a 404): the plan asked for something impossible."""


def _stored(kind: Kind, type_: str, value: str | None) -> str:
    """A target value as the API stores it."""
    spec = TARGET_TYPES[kind.value][type_]
    text = "" if value is None else value.strip()
    if spec.value is ValueKind.NONE:
        return ""
    if spec.value is ValueKind.HASHTAG:
        return text.lstrip("#")
    if spec.value is ValueKind.USERNAME:
        return text.lstrip("@")
    if spec.value is ValueKind.REGION:
        return text.upper()
    if type_ == "user_id_list":
        return "".join(text.split())
    return text


def _in_run_order(changes: list[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: ACTION_ORDER.get(c.action, 9))


def simulate_schedule(kind: Kind, live: dict[str, Any], changes: list[Change]) -> dict[str, Any]:
    live = copy.deepcopy(live)
    targets = live.setdefault("targets", [])
    next_id = max((t["target_id"] for t in targets), default=0) + 1
    for c in _in_run_order(changes):
        if c.action in ("activate", "pause"):
            assert c.path == "state"
            live["state"] = "active" if c.action == "activate" else "paused"
        elif c.action == "update":
            name = c.path.removeprefix("settings.")
            live.setdefault("settings", {})[name] = c.after
        elif c.action == "remove":
            kept = [t for t in targets if t["target_id"] != c.ref]
            if len(kept) == len(targets):
                raise Refused(f"404 removing {c.path}: no target {c.ref}")
            targets[:] = kept
        elif c.action == "add":
            spec = TARGET_TYPES[kind.value][c.after["type"]]
            value = _stored(kind, c.after["type"], c.after.get("value"))
            id_ = c.after.get("id") if spec.needs_id else value
            for t in targets:
                if t["type"] == c.after["type"] and (t["value"] == value or (spec.needs_id and t["id"] == id_)):
                    raise Refused(f"409 adding {c.path}: target {t} already exists")
            targets.append({"target_id": next_id, "type": c.after["type"], "id": id_, "value": value})
            next_id += 1
        else:
            raise AssertionError(f"unexpected action {c.action} for {kind}")
    return live


def simulate_captions(live: dict[str, Any], changes: list[Change]) -> dict[str, Any]:
    captions = copy.deepcopy(live["captions"])
    next_id = max((c["id"] for c in captions), default=0) + 1
    for c in _in_run_order(changes):
        if c.action == "create":
            captions.append({"id": next_id, "title": c.ref["title"], "caption": c.after})
            next_id += 1
            continue
        hit = next((x for x in captions if x["id"] == c.ref["id"]), None)
        if hit is None:
            raise Refused(f"404 {c.action} {c.path}")
        if c.action == "update":
            hit["caption"] = c.after
        elif c.action == "delete":
            captions.remove(hit)
        else:
            raise AssertionError(c.action)
    return {"captions": captions}


def simulate_first_comment(live: dict[str, Any], changes: list[Change]) -> dict[str, Any]:
    schedules = copy.deepcopy(live["schedules"])
    next_id = max((s["id"] for s in schedules), default=0) + 1
    for c in _in_run_order(changes):
        if c.action == "create":
            body = c.after
            schedules.append({"id": next_id, "is_active": body["is_active"], "comment_mode": body["comment_mode"],
                              "targets": [{"username": t["username"], "user_pk": t["user_pk"]}
                                          for t in body["targets"]],
                              "comments": list(body["comments"])})
            next_id += 1
            continue
        hit = next((s for s in schedules if s["id"] == c.ref), None)
        if hit is None:
            raise Refused(f"404 {c.action} {c.path}")
        if c.action == "delete":
            schedules.remove(hit)
        elif c.action in ("activate", "pause"):
            hit["is_active"] = c.action == "activate"
        elif c.action == "update":
            field = c.path.rsplit(".", 1)[1]
            if field == "targets":
                hit["targets"] = [{"username": t["username"], "user_pk": t["user_pk"]} for t in c.after]
            else:
                hit[field] = copy.deepcopy(c.after)
        else:
            raise AssertionError(c.action)
    return {"schedules": schedules}


# -- generated states --------------------------------------------------------------------------
SETTING_NAMES = ["likes_speed", "follow_limit", "daily_pause", "daily_pause_from", "masslooking_interval",
                 "caption", "remove_delay", "speed"]
HHMM = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 59]))
SETTING_VALUES = st.one_of(
    st.integers(-3, 5), st.sampled_from([0.0, 1.5, 3.0, 2.0]), st.booleans(), HHMM,
    st.sampled_from(["slow", "fast", "{Hi|Hello} {{original_caption}}", ""]),
)
VALUES = {  # small vocabularies, so desired and live overlap (in case too)
    ValueKind.HASHTAG: ["ootd", "OOTD", "summer", "gym_life"],
    ValueKind.USERNAME: ["zara", "Zara", "nike.women", "kayla_itsines"],
    ValueKind.TEXT: ["home workout", "Paris", "sourdough", "Eye of the Tiger"],
    ValueKind.POST: ["CxYz123", "https://www.instagram.com/p/CxYz123/", "abcde"],
    ValueKind.REGION: ["US", "DE", "FR"],
}
IDS = ["213385402", "27451342", "11630937", "349288813019731"]


@st.composite
def a_target(draw: st.DrawFn, kind: Kind) -> tuple[str, str | None, str | None]:
    """(type, value, id) as a playbook would write it. An id type's value is tied to its id,
    so two targets with the same value have the same id (the API keys id types by both)."""
    type_ = draw(st.sampled_from(sorted(TARGET_TYPES[kind.value])))
    spec = TARGET_TYPES[kind.value][type_]
    if spec.needs_id:
        id_ = draw(st.sampled_from(IDS))
        return type_, f"place {id_}", id_
    if spec.value is ValueKind.NONE:
        return type_, None, None
    if type_ == "user_id_list":
        return type_, draw(st.sampled_from(["1,2", "1, 2", "3"])), None
    return type_, draw(st.sampled_from(VALUES[spec.value])), None


def _identity(kind: Kind, type_: str, value: str | None) -> tuple[str, str]:
    """The playbook's duplicate key: type and value, names and regions ignoring case."""
    spec = TARGET_TYPES[kind.value][type_]
    text = value or type_
    return type_, text.casefold() if spec.value in (ValueKind.HASHTAG, ValueKind.USERNAME, ValueKind.REGION) else text


@st.composite
def schedule_states(draw: st.DrawFn, kind: Kind) -> tuple[ScheduleDesired, dict[str, Any]]:
    state = draw(st.none() | st.sampled_from(["active", "paused"]).map(at))
    names = draw(st.lists(st.sampled_from(SETTING_NAMES), unique=True, max_size=5))
    wanted = {name: at(draw(SETTING_VALUES)) for name in names}
    targets = None
    if draw(st.booleans()):
        chosen: dict[tuple[str, str], Sourced[Target]] = {}
        for type_, value, id_ in draw(st.lists(a_target(kind), max_size=6)):
            chosen.setdefault(_identity(kind, type_, value), at(Target(type_, value or type_, id_)))
        targets = tuple(chosen.values())
    prune = draw(st.none() | st.booleans().map(at)) if targets is not None else None
    desired = ScheduleDesired(kind, state, wanted, targets, prune)

    live: dict[str, Any] = {"state": draw(st.sampled_from(["active", "paused"]))}
    if wanted:  # read() fetches settings only when the playbook names some
        live_names = draw(st.lists(st.sampled_from(SETTING_NAMES), unique=True))
        live["settings"] = {name: draw(SETTING_VALUES) for name in live_names}
    if targets is not None:  # and targets only when they are managed
        stored: list[dict[str, Any]] = []
        for type_, value, id_ in draw(st.lists(a_target(kind), max_size=6)):
            spec = TARGET_TYPES[kind.value][type_]
            value = _stored(kind, type_, value)
            own_id = id_ if spec.needs_id else value
            if any(t["type"] == type_ and (t["value"] == value or (spec.needs_id and t["id"] == own_id))
                   for t in stored):
                continue  # the API holds no such duplicates
            stored.append({"target_id": len(stored) + 1, "type": type_, "id": own_id, "value": value})
        live["targets"] = stored
    return desired, live


TITLES = ["Summer sale", "New drop", "summer sale", "Repost credit"]
TEXTS = ["{Sun's out|Sale on} ☀️", "Fresh in 🔥", "", "{{original_caption}} via us"]


@st.composite
def caption_states(draw: st.DrawFn) -> tuple[CaptionsDesired, dict[str, Any]]:
    titles = draw(st.lists(st.sampled_from(TITLES), unique=True))
    desired = CaptionsDesired({t: at(draw(st.sampled_from(TEXTS))) for t in titles},
                              draw(st.none() | st.booleans().map(at)))
    live = draw(st.lists(st.tuples(st.sampled_from(TITLES), st.sampled_from(TEXTS)), max_size=6))  # duplicates too
    return desired, {"captions": [{"id": i, "title": t, "caption": c} for i, (t, c) in enumerate(live, start=10)]}


USERS = ["nike", "Nike", "adidas", "tasty", "bonappetitmag"]
PKS = [None, "19038780", "17841400"]


@st.composite
def comment_targets(draw: st.DrawFn) -> list[tuple[str, str | None]]:
    users = draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=3, unique_by=str.casefold))
    return [(u, draw(st.sampled_from(PKS))) for u in users]


@st.composite
def first_comment_states(draw: st.DrawFn) -> tuple[FirstCommentDesired, dict[str, Any]]:
    schedules: dict[frozenset[str], CommentScheduleDesired] = {}
    for i, targets in enumerate(draw(st.lists(comment_targets(), max_size=4))):
        key = frozenset(u.casefold() for u, _ in targets)
        if key in schedules:
            continue  # desired_state refuses two schedules watching the same targets
        name = draw(st.none() | st.just(f"schedule-{i}"))
        comments = draw(st.none() | st.lists(st.sampled_from(["{Love|Adore} this", "Saving this 🙌", "Wow"]),
                                             min_size=1, max_size=3).map(lambda c: at(tuple(c))))
        schedules[key] = CommentScheduleDesired(
            name or ",".join(sorted(key)), name, Position("gen.yaml", i + 1, 11),
            targets=at(tuple(CommentTarget(u, pk) for u, pk in targets)),
            comments=comments,
            mode=draw(st.none() | st.sampled_from(["random", "sequential"]).map(at)),
            state=draw(st.none() | st.sampled_from(["active", "paused"]).map(at)),
        )
    desired = FirstCommentDesired(tuple(schedules.values()), draw(st.none() | st.booleans().map(at)))
    live = [
        {"id": i, "is_active": draw(st.booleans()), "comment_mode": draw(st.sampled_from(["random", "sequential"])),
         "targets": [{"username": u, "user_pk": pk} for u, pk in draw(comment_targets())],
         "comments": draw(st.lists(st.sampled_from(["Wow", "Saving this 🙌", "Nice"]), max_size=2))}
        for i in range(100, 100 + draw(st.integers(0, 4)))  # several may watch the same targets
    ]
    return desired, {"schedules": live}


# -- the properties ----------------------------------------------------------------------------
def canonical(changes: list[Change]) -> tuple[Change, ...]:
    """The changes as a plan holds them (sorted); order within the diff's list is not meaning."""
    return Plan.build(list(changes), "", {}, 0).changes


def permuted(live: dict[str, Any], key: str, order: list[int]) -> dict[str, Any]:
    items = live.get(key)
    if not items:
        return copy.deepcopy(live)
    out = copy.deepcopy(live)
    out[key] = [copy.deepcopy(items[i]) for i in order if i < len(items)]
    return out


def check(kind: Kind, desired: Any, live: dict[str, Any], items: str, order: list[int], simulate: Any) -> None:
    handler = KINDS[kind]
    before = copy.deepcopy(live)
    changes = handler.diff(ACCOUNT, desired, live)
    assert live == before, "diff must not modify the live state it is given"
    # (a) deterministic, and independent of the order of live items
    assert handler.diff(ACCOUNT, desired, copy.deepcopy(live)) == changes
    assert canonical(handler.diff(ACCOUNT, desired, permuted(live, items, order))) == canonical(changes)
    # every change says which playbook line asks for it
    assert all(c.source and c.source.startswith("gen.yaml:") for c in changes), changes
    # (b) applying the changes converges
    after = simulate(live, changes)
    assert handler.diff(ACCOUNT, desired, after) == [], (changes, after)


ORDERS = st.permutations(range(6))


@PROPS
@given(data=st.data(), kind=st.sampled_from([Kind.REACTIONS, Kind.REPOST]), order=ORDERS)
def test_schedule_diff_is_deterministic_and_converges(data: st.DataObject, kind: Kind, order: list[int]) -> None:
    desired, live = data.draw(schedule_states(kind))
    check(kind, desired, live, "targets", order, lambda lv, ch: simulate_schedule(kind, lv, ch))


@PROPS
@given(state=caption_states(), order=ORDERS)
def test_captions_diff_is_deterministic_and_converges(state: tuple[CaptionsDesired, dict[str, Any]],
                                                      order: list[int]) -> None:
    desired, live = state
    check(Kind.CAPTIONS, desired, live, "captions", order, simulate_captions)


@PROPS
@given(state=first_comment_states(), order=ORDERS)
def test_first_comment_diff_is_deterministic_and_converges(state: tuple[FirstCommentDesired, dict[str, Any]],
                                                          order: list[int]) -> None:
    desired, live = state
    check(Kind.FIRST_COMMENT, desired, live, "schedules", order, simulate_first_comment)


# -- examples the properties rest on -----------------------------------------------------------
def test_a_target_type_without_value_matches_what_the_api_stores() -> None:
    """``explore`` is stored by the API with an empty value: planning it again adds nothing."""
    desired = ScheduleDesired(Kind.REACTIONS, targets=(at(Target("explore", "explore")),))
    live = {"state": "active", "targets": [{"target_id": 1, "type": "explore", "id": "", "value": ""}]}
    assert KINDS[Kind.REACTIONS].diff(ACCOUNT, desired, live) == []


def test_settings_compare_numbers_by_value_and_booleans_strictly() -> None:
    desired = ScheduleDesired(Kind.REACTIONS, settings={"likes_speed": at(3), "daily_pause": at(True),
                                                        "masslooking_interval": at(3)})
    live = {"state": "active", "settings": {"likes_speed": 3.0, "daily_pause": 1, "masslooking_interval": 3.0}}
    changes = KINDS[Kind.REACTIONS].diff(ACCOUNT, desired, live)
    assert [(c.path, c.before, c.after) for c in changes] == [("settings.daily_pause", 1, True)]


def test_pruned_captions_remove_second_copies_of_a_title() -> None:
    desired = CaptionsDesired({"Summer sale": at("A")}, at(True))
    live = {"captions": [{"id": 5, "title": "Summer sale", "caption": "A"},
                         {"id": 2, "title": "Summer sale", "caption": "B"}]}
    changes = KINDS[Kind.CAPTIONS].diff(ACCOUNT, desired, live)
    # The oldest copy (lowest id) is the one kept, whatever order the list came in.
    assert [(c.action, c.ref["id"]) for c in changes] == [("update", 2), ("delete", 5)]


def test_which_live_target_is_kept_does_not_depend_on_read_order() -> None:
    """The API keeps `OOTD` and `ootd` apart; the playbook does not. Under prune, the older is kept."""
    desired = ScheduleDesired(Kind.REACTIONS, targets=(at(Target("hashtag", "ootd")),), prune=at(True))
    rows = [{"target_id": 4, "type": "hashtag", "id": "ootd", "value": "ootd"},
            {"target_id": 3, "type": "hashtag", "id": "OOTD", "value": "OOTD"}]
    for live in (rows, rows[::-1]):
        changes = KINDS[Kind.REACTIONS].diff(ACCOUNT, desired, {"state": "active", "targets": live})
        assert [(c.action, c.ref) for c in changes] == [("remove", 4)]
