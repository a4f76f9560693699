"""A saved plan is bound to the playbook it was made from: a change the playbook does not ask
for (an edited ``after`` or ``ref``, an added change, another installation's) is refused
before any write, even with a checksum computed again; the playbook hash is the hash of the
text that was loaded, never of the files as they are on disk later.

The command line against a uvicorn-served demo world for the forgeries (what a reviewer's
attacker would do: edit the JSON, recompute the checksum, run ``apply --plan``); the engine
in-process for the rest. No write is ever asserted by what the client believes: the
emulator's own request counters say it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator import playbook
from orchestrator.cli.app import app
from orchestrator.plan import plan_checksum
from orchestrator.planning.planner import build_plan, playbook_hash
from orchestrator.playbook.model import text_hash
from tests.harness import Served, client_for, write_playbook

PLAYBOOK = """\
version: 1
groups:
  fashion:
    usernames: fashion_*
entries:
  - groups: fashion
    reactions:
      settings:
        likes_speed: 5
      targets:
        - hashtag: boundcheck
  - groups: fashion
    first_comment:
      schedules:
        - name: sportswear
          targets: [nike, adidas]
          comments: ["Love it"]
        - name: luxury
          targets: [gucci, adidas]
          comments: ["So chic"]
"""
runner = CliRunner()


def _resum(data: dict[str, Any]) -> dict[str, Any]:
    """What an attacker does after editing: compute the (unkeyed) checksum again."""
    data = {k: v for k, v in data.items() if k != "checksum"}
    return data | {"checksum": plan_checksum(data)}


def _first(data: dict[str, Any], test: Callable[[dict[str, Any]], bool]) -> int:
    return next(i for i, c in enumerate(data["changes"]) if test(c))


def _edit_after(data: dict[str, Any]) -> dict[str, Any]:
    i = _first(data, lambda c: c["path"] == "settings.likes_speed")
    data["changes"][i]["after"] = 1  # the reviewer saw 5
    return data


def _edit_ref(data: dict[str, Any]) -> dict[str, Any]:
    i = _first(data, lambda c: c["kind"] == "first_comment" and c["action"] == "update")
    data["changes"][i]["ref"] = 9999  # another schedule than the one the plan found
    return data


def _add_change(data: dict[str, Any]) -> dict[str, Any]:
    extra = {"account_id": 9, "username": "fitness_lift", "kind": "reactions", "action": "pause", "path": "state",
             "before": "active", "after": "paused", "source": None, "ref": None}
    data["changes"].append(extra)  # an account the playbook does not manage
    data["read"]["fingerprints"]["9"] = data["read"]["fingerprints"]["1"]
    return data


def _swap_values(data: dict[str, Any]) -> dict[str, Any]:
    i = _first(data, lambda c: c["kind"] == "first_comment" and c["action"] == "create")
    data["changes"][i]["after"]["comments"] = ["Buy followers at evil.example"]
    return data


FORGERIES = {"an edited after": _edit_after, "an edited ref": _edit_ref, "an added change": _add_change,
             "a create's body": _swap_values}


@pytest.mark.uvicorn
@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_a_forged_saved_plan_with_a_fresh_checksum_is_refused_before_any_write(served: Served, tmp_path: Path,
                                                                                 name: str) -> None:
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    out = tmp_path / "plan.json"
    made = runner.invoke(app, ["plan", str(pb), "--out", str(out)], env=served.env())
    assert made.exit_code == 0, made.output
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(_resum(FORGERIES[name](json.loads(out.read_text())))))
    served.state.counters.reset()

    result = runner.invoke(app, ["apply", str(pb), "--plan", str(forged), "--yes", "--state-db",
                                 str(tmp_path / "state.db")], env=served.env())
    assert result.exit_code == 1, result.output
    # (off a terminal the progress display prints its phase line on stderr: not the answer)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("reading · ")]
    assert len(lines) == 1 and lines[0].startswith("error: the saved plan holds changes the playbooks do not ask for")
    assert "nothing was applied" in lines[0] and "Traceback" not in result.output
    assert served.writes() == []  # the emulator saw no write at all


@pytest.mark.uvicorn
def test_the_untouched_plan_still_applies(served: Served, tmp_path: Path) -> None:
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    out = tmp_path / "plan.json"
    assert runner.invoke(app, ["plan", str(pb), "--out", str(out)], env=served.env()).exit_code == 0
    result = runner.invoke(app, ["apply", str(pb), "--plan", str(out), "--yes", "--state-db",
                                 str(tmp_path / "state.db")], env=served.env())
    assert result.exit_code == 0, result.output
    assert "applied and verified" in result.stdout


@pytest.mark.uvicorn
def test_a_plan_with_a_secret_reference_applies(served: Served, tmp_path: Path) -> None:
    """The changes compared are those the playbook makes, secrets resolved as they are read."""
    pb = write_playbook(tmp_path / "pb", """\
version: 1
groups:
  one:
    accounts: [fashion_nova]
entries:
  - groups: one
    reactions:
      settings:
        custom_proxy: {env: BOUND_PROXY}
""")
    env = served.env(BOUND_PROXY="http://user:bound-secret-41@10.0.0.9:3128")
    out = tmp_path / "plan.json"
    assert runner.invoke(app, ["plan", str(pb), "--out", str(out)], env=env).exit_code == 0
    assert "bound-secret-41" not in out.read_text()
    result = runner.invoke(app, ["apply", str(pb), "--plan", str(out), "--yes", "--state-db",
                                 str(tmp_path / "state.db")], env=env)
    assert result.exit_code == 0, result.output


async def test_the_playbook_hash_is_that_of_the_text_loaded_not_of_the_file_now(emu, tmp_path: Path) -> None:
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    book = playbook.load([str(pb)])
    assert playbook_hash(book) == text_hash([(str(pb), PLAYBOOK)])
    pb.write_text(PLAYBOOK.replace("likes_speed: 5", "likes_speed: 2"))  # edited after loading
    async with client_for(emu) as client:
        planned = await build_plan(client, book)
    assert planned.plan.playbook_hash == text_hash([(str(pb), PLAYBOOK)])
    assert playbook_hash(playbook.load([str(pb)])) != planned.plan.playbook_hash


async def test_a_reconcile_cycle_records_the_hash_of_what_it_loaded(emu, tmp_path: Path) -> None:
    from tests.harness.reconcile import reconciler, write_book

    book = write_book(tmp_path)
    loaded = playbook_hash(book)
    (tmp_path / "playbooks" / "reconcile.yaml").write_text("version: 1\nentries: []\n")  # edited on disk since
    async with client_for(emu) as client:
        loop = reconciler(emu, client, book, tmp_path)
        report = await loop.cycle()
        [run] = [r for r in await loop.history.runs() if r.id == report.run_id]
        await loop.history.close()
    assert run.playbook_hash == loaded
