"""The import layout, without the API: for any fleet, loading the written playbook gives back,
for every account and kind, exactly the state it was written from (shared settings, overrides,
patterns and all). A property test over random fleets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from orchestrator import playbook
from orchestrator.importer.layout import lay_out
from orchestrator.importer.live import LiveAccount, LiveFleet, leads_fragment
from orchestrator.importer.render import render
from orchestrator.contract import Account, Kind

NICHES = ["fashion", "fitness", "food", "travel"]
SETTINGS = {"likes_speed": st.integers(1, 5), "is_follow": st.booleans(), "daily_pause_from": st.sampled_from(
    ["23:00", "01:30"]), "emojis": st.sampled_from(["🔥", "yes", "1.5", "a\nb"])}
TARGETS = [{"hashtag": "ootd"}, {"hashtag": "gym"}, {"location": "Paris", "id": "213385402"}, "explore"]


@st.composite
def fleets(draw: Any) -> LiveFleet:
    n = draw(st.integers(1, 30))
    accounts = [LiveAccount(i + 1, f"{NICHES[i % 4]}_{draw(st.sampled_from(['a', 'b', 'c']))}{i}") for i in range(n)]
    fleet = LiveFleet(accounts)
    for account in accounts:
        if draw(st.booleans()):
            fields = draw(st.fixed_dictionaries({}, optional=SETTINGS))
            fleet.fragments.setdefault(account.id, {})[Kind.REACTIONS] = {
                "state": draw(st.sampled_from(["active", "paused"])), "settings": fields,
                "targets": draw(st.lists(st.sampled_from(TARGETS), unique_by=str, max_size=3))}
        if draw(st.booleans()):
            welcomedm = {"state": draw(st.sampled_from(["active", "paused"]))}
            fleet.fragments.setdefault(account.id, {})[Kind.WELCOMEDM] = welcomedm
        if draw(st.booleans()):
            task = st.tuples(st.sampled_from([None, "t1", "t2"]), st.sampled_from(["running", "stopped"]))
            tasks = draw(st.lists(task, min_size=1, max_size=3))
            fragment = leads_fragment(tasks)
            if fragment is not None:
                fleet.fragments.setdefault(account.id, {})[Kind.LEADS] = fragment
        if draw(st.booleans()):
            fleet.fragments.setdefault(account.id, {})[Kind.ACCOUNT] = {"proxy": "auto"}
    return fleet


def target_of(written: Any) -> tuple[str, str, str | None]:
    if isinstance(written, str):
        return (written, written, None)
    type_ = next(k for k in written if k != "id")
    return (type_, written[type_], written.get("id"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fleet=fleets(), per_account=st.booleans())
def test_the_written_playbook_gives_back_every_accounts_state(tmp_path: Path, fleet: LiveFleet,
                                                               per_account: bool) -> None:
    layout = lay_out(fleet, per_account=per_account)
    assume(layout.entries)  # import refuses a fleet with nothing to write
    path = tmp_path / "imported.yaml"
    path.write_text(render(layout, ["test"]), encoding="utf-8")
    assert [str(p) for p in playbook.validate([str(path)])] == []
    desired = playbook.desired_state(playbook.load([str(path)]), [Account(a.id, a.username) for a in fleet.accounts])
    for account in fleet.accounts:
        fragments = fleet.fragments.get(account.id, {})
        for kind in (Kind.REACTIONS, Kind.WELCOMEDM, Kind.LEADS, Kind.ACCOUNT):
            want = desired.get(account.id, kind)
            if kind not in fragments:
                assert want is None, (account, kind)
                continue
            fragment = fragments[kind]
            assert want is not None, (account, kind)
            if kind is Kind.REACTIONS:
                assert want.state.value == fragment["state"]
                assert {k: v.value for k, v in want.settings.items()} == fragment["settings"]
                got = [(t.value.type, t.value.value, t.value.id) for t in want.targets or ()]
                assert got == [target_of(t) for t in fragment["targets"]]
            elif kind is Kind.WELCOMEDM:
                assert want.state.value == fragment["state"]
            elif kind is Kind.ACCOUNT:
                assert want.proxy.value == "auto"
            else:
                items = fragment if isinstance(fragment, list) else [fragment]
                every = next((i["state"] for i in items if "task_name" not in i), None)
                assert (want.every.value if want.every else None) == every
                assert {k: v.value for k, v in want.tasks.items()} == {
                    i["task_name"]: i["state"] for i in items if "task_name" in i}
