"""deploy/github: the workflow is one GitHub accepts (its JSON schema, offline; actionlint when
it can be had), wired as the README says (plan on pull requests, apply on main behind an
environment, one at a time, secrets from ``secrets`` only), and its scripts do their job
against the emulator, with a fake ``gh`` that keeps comments and labels:

- one plan comment per pull request, edited by later pushes, under 65,536 characters at 800
  accounts, with the full plan in the job summary;
- the label says changes or no changes, and only one of the two is ever set;
- a playbook that does not validate, or a plan that fails, is said in the comment;
- apply shares the run lock of the state database with the reconciler;
- no secret shows: not in the comment, the summary, gh's log, the step's output or files.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from ruamel.yaml import YAML

from orchestrator.cli.app import app
from orchestrator.state.lock import RunLock
from tests.harness.stores import SyncStore
from tests.ops.conftest import DEPLOY, GH_TOKEN, TIMEOUT, Actions, World, actionlint

WORKFLOW = DEPLOY / "github" / "orchestrator.yml"
MARKER = "<!-- sharingtools-orchestrator:plan -->"
RUN_URL = "https://github.com/acme/playbooks/actions/runs/4242"
COMMENT_LIMIT = 65_536


def workflow() -> dict[str, Any]:
    return YAML(typ="safe").load(WORKFLOW.read_text())


def steps(job: str) -> list[dict[str, Any]]:
    return workflow()["jobs"][job]["steps"]


def bot_comments(actions: Actions) -> list[dict[str, Any]]:
    return [c for c in actions.issue()["comments"] if c["body"].startswith(MARKER)]


def no_secret_shown(actions: Actions, world: World | None, *results: subprocess.CompletedProcess[str]) -> None:
    shown = actions.everything_shown(*results)
    assert GH_TOKEN not in shown
    if world is not None:
        assert world.key not in shown
        assert world.key[4:20] not in shown  # not even a part of it


# -- the workflow file --------------------------------------------------------------------------
def check_schema(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema against the GitHub workflow schema it ships (no network)."""
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True, timeout=TIMEOUT)


def test_the_workflow_validates_against_the_github_workflow_schema(tmp_path: Path) -> None:
    result = check_schema(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    # and the check does catch a mistake (a misspelt key)
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:", 1))
    assert check_schema(broken).returncode != 0


def test_actionlint_finds_nothing_wrong(tmp_path: Path) -> None:
    lint = actionlint()
    result = subprocess.run([*lint, str(WORKFLOW)], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    # a control: actionlint really reads the file (an input actions/checkout does not have)
    broken = tmp_path / "orchestrator.yml"
    broken.write_text(WORKFLOW.read_text().replace("persist-credentials: false", "persist-credential: false", 1))
    failed = subprocess.run([*lint, str(broken)], capture_output=True, text=True, timeout=TIMEOUT)
    assert failed.returncode != 0 and "persist-credential" in failed.stdout


def test_plans_on_pull_requests_and_applies_on_main_behind_an_environment() -> None:
    wf = workflow()
    on = wf["on"]
    assert "playbooks/**" in on["pull_request"]["paths"] and "playbooks/**" in on["push"]["paths"]
    assert on["push"]["branches"] == ["main"]
    assert wf["permissions"] == {"contents": "read"}  # nothing more unless a job asks
    plan, apply = wf["jobs"]["plan"], wf["jobs"]["apply"]
    assert "pull_request" in plan["if"] and plan["permissions"]["pull-requests"] == "write"
    assert "pull_request.number" in plan["concurrency"]["group"]  # one plan per pull request at a time
    assert "refs/heads/main" in apply["if"] and "push" in apply["if"]
    assert apply["environment"]  # the approval gate
    assert apply["concurrency"]["group"] and apply["concurrency"]["cancel-in-progress"] is False
    assert set(apply.get("permissions", {"contents": "read"}).values()) == {"read"}


def test_secrets_come_from_secrets_only_and_never_into_a_script() -> None:
    wf = workflow()
    text = WORKFLOW.read_text()
    assert "SHARINGTOOLS_API_KEY" not in json.dumps(wf.get("env", {}))  # no job-wide secret
    for name, job in wf["jobs"].items():
        assert "env" not in job or "secrets." not in json.dumps(job["env"]), name
        for step in job["steps"]:
            # `${{ }}` in `run:` is pasted into the script's text: a secret could be echoed or
            # end in the log; secrets go through `env:` only.
            assert "${{" not in step.get("run", ""), step
            for key, value in step.get("env", {}).items():
                if key.startswith("SHARINGTOOLS_") and key != "SHARINGTOOLS_BASE_URL":
                    assert value == f"${{{{ secrets.{key} }}}}", (key, value)
    apply_env = next(s["env"] for s in steps("apply") if "apply.sh" in s.get("run", ""))
    assert apply_env["SHARINGTOOLS_STATE_DB"] == "${{ secrets.SHARINGTOOLS_STATE_DB }}"  # shared with the reconciler
    plan_env = next(s["env"] for s in steps("plan") if "plan-comment.sh" in s.get("run", ""))
    assert plan_env["GH_TOKEN"] == "${{ github.token }}" and "SHARINGTOOLS_STATE_DB" not in plan_env
    assert not re.search(r"sht_[0-9a-f]{8}", text)


def test_the_steps_run_the_scripts_shipped_beside_it_with_options_the_cli_has() -> None:
    runs = [s["run"] for job in workflow()["jobs"].values() for s in job["steps"] if "run" in s]
    called = {m for r in runs for m in re.findall(r"\.github/orchestrator/([\w.-]+)", r)}
    assert called == {"plan-comment.sh", "apply.sh"}
    for script in called:
        assert (DEPLOY / "github" / script).is_file()
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    known = {name: {o for p in c.params for o in getattr(p, "opts", [])} for name, c in commands.items()}
    gh_options = {"--method", "--paginate"}
    for script, command in (("plan-comment.sh", "plan"), ("apply.sh", "apply")):
        # the commands run, not the text the scripts write (comments, echo)
        code = [line for line in (DEPLOY / "github" / script).read_text().splitlines()
                if not line.lstrip().startswith("#") and "echo" not in line]
        used = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", "\n".join(code))) - gh_options
        assert used <= known[command], f"{script}: {sorted(used - known[command])} are not options of {command}"


# -- plan-comment.sh against the emulator --------------------------------------------------------
def test_800_accounts_one_comment_under_the_limit_the_full_plan_in_the_summary_and_pushes_edit_it(
        fleet: World, actions: Actions) -> None:
    # Someone commented first; with one comment a page, the script must read every page.
    actions.seed_issue([{"id": 5, "body": "Looks good, plan please", "user": {"login": "ana", "type": "User"}}], [])
    first = actions.run("plan-comment.sh", fleet, HEAD_SHA="a" * 40, FAKE_GH_PAGE_SIZE="1")
    assert first.returncode == 0, first.stderr[-3000:]
    [comment] = bot_comments(actions)
    body = comment["body"]
    assert len(body) < COMMENT_LIMIT
    lines = body.splitlines()
    assert lines[:2] == [MARKER, "### Sharingtools plan"]
    plan = json.loads((actions.runner_temp / "orchestrator" / "plan.json").read_text())
    total, accounts = plan["summary"]["total"], plan["summary"]["accounts"]
    assert total > 16_000 and accounts > 800
    assert lines[3].startswith(f"Plan: {total} changes on {accounts} accounts (")  # the summary stays
    # cut, saying what was left out and where the rest is
    [note] = [line for line in lines if line.startswith("> Cut to fit a pull-request comment: ")]
    assert re.search(r"the account lists of \d+ of \d+ changes left out", note)
    assert f"[the job summary of this run]({RUN_URL})" in note
    assert lines[-1].startswith("<sub>Planned at aaaaaaaaaaaa by [this run](")
    # the job summary: the whole plan, every account of it, uncut, within a summary's size
    summary = actions.summary.read_text()
    assert "### Sharingtools plan" in summary and "Cut to fit" not in summary
    assert len(summary.encode()) < 1_048_576
    usernames = {c["username"] for c in plan["changes"] if c["account_id"]}
    missing = sorted(u for u in usernames if u not in summary)
    assert not missing, missing[:5]
    assert actions.issue()["labels"] == ["orchestrator:changes"]
    assert actions.output.read_text() == "changes=true\n"

    calls_before = len(actions.gh_calls())
    second = actions.run("plan-comment.sh", fleet, HEAD_SHA="b" * 40, FAKE_GH_PAGE_SIZE="1")
    assert second.returncode == 0, second.stderr[-3000:]
    [edited] = bot_comments(actions)
    assert edited["id"] == comment["id"]  # the same comment, edited: not a second one
    assert "Planned at bbbbbbbbbbbb" in edited["body"]
    assert len(actions.issue()["comments"]) == 2  # ana's and ours
    writes = [(c["method"], c["path"]) for c in actions.gh_calls()[calls_before:] if c["method"] != "GET"]
    assert writes == [("PATCH", f"repos/acme/playbooks/issues/comments/{comment['id']}")]  # label already right
    assert next(c for c in actions.gh_calls()[calls_before:] if c["path"].endswith("/comments?per_page=100"))[
        "pages"] == 2
    no_secret_shown(actions, fleet, first, second)


def test_no_changes_flips_the_label_and_edits_the_comment(demo: World, actions: Actions) -> None:
    shutil.rmtree(actions.workspace / "playbooks")  # a playbook that manages nothing: nothing to change
    (actions.workspace / "playbooks").mkdir()
    (actions.workspace / "playbooks" / "only-groups.yaml").write_text("version: 1\ngroups:\n  everyone: {all: true}\n")
    earlier = {"id": 77, "body": f"{MARKER}\n### Sharingtools plan\n\nPlan: 3 changes on 1 accounts (…).\n",
               "user": {"login": "github-actions[bot]", "type": "Bot"}}
    actions.seed_issue([earlier], ["needs-review", "orchestrator:changes"])
    result = actions.run("plan-comment.sh", demo)
    assert result.returncode == 0, result.stderr[-3000:]
    [comment] = bot_comments(actions)
    assert comment["id"] == 77
    assert "No changes. The installation matches the playbooks." in comment["body"]
    assert actions.issue()["labels"] == ["needs-review", "orchestrator:no-changes"]  # the other one removed
    assert actions.output.read_text() == "changes=false\n"
    no_secret_shown(actions, demo, result)


def test_a_summary_only_comment_keeps_the_counts_and_points_to_the_job_summary(demo: World, actions: Actions) -> None:
    result = actions.run("plan-comment.sh", demo, ORCHESTRATOR_COMMENT="summary")
    assert result.returncode == 0, result.stderr[-3000:]
    [comment] = bot_comments(actions)
    body = comment["body"]
    assert "| kind | action | changes |" in body and "| reactions | update |" in body
    assert "| kind | change | accounts | source |" not in body  # no rows of changes
    assert f"The complete plan, per account: [the job summary of this run]({RUN_URL})." in body
    assert "| kind | change | accounts | source |" in actions.summary.read_text()
    assert actions.issue()["labels"] == ["orchestrator:changes"]


def test_playbooks_that_do_not_validate_are_said_in_the_comment_and_nothing_is_read(
        demo: World, actions: Actions) -> None:
    (actions.workspace / "playbooks" / "typo.yaml").write_text(
        "version: 1\nentries:\n  - groups: fashion\n    reactions:\n      state: fast\n")
    actions.seed_issue([], ["orchestrator:no-changes"])
    result = actions.run("plan-comment.sh", demo)
    assert result.returncode == 1
    [comment] = bot_comments(actions)
    assert "**The playbooks do not validate** (`orchestrator validate playbooks/`):" in comment["body"]
    assert re.search(r"^playbooks/typo\.yaml:5:\d+: ", comment["body"], re.M)
    assert "do not validate" in actions.summary.read_text()
    assert actions.issue()["labels"] == []  # neither: there is no plan
    assert demo.api_requests() == 0
    no_secret_shown(actions, demo, result)


def test_a_plan_that_fails_is_said_in_the_comment(actions: Actions, demo: World) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = actions.run("plan-comment.sh", demo, SHARINGTOOLS_BASE_URL=f"http://127.0.0.1:{port}/api/v1")
    assert result.returncode == 1
    [comment] = bot_comments(actions)
    assert "**The plan failed** (exit 1): nothing was planned." in comment["body"]
    assert f"error: cannot reach http://127.0.0.1:{port}/api/v1" in comment["body"]
    assert actions.issue()["labels"] == []
    no_secret_shown(actions, demo, result)


# -- apply.sh ------------------------------------------------------------------------------------
def test_apply_applies_records_the_run_and_says_so_in_the_summary(demo: World, actions: Actions) -> None:
    db = actions.root / "state" / "state.db"
    db.parent.mkdir()
    result = actions.run("apply.sh", demo, SHARINGTOOLS_STATE_DB=str(db))
    assert result.returncode == 0, result.stderr[-3000:]
    summary = actions.summary.read_text()
    assert summary.startswith("### Sharingtools apply: applied and verified")
    assert "applied and verified" in result.stdout  # the log shows what apply printed
    report = json.loads((actions.runner_temp / "orchestrator" / "report.json").read_text())
    assert report["operations"]
    with SyncStore(db, demo.api) as history:
        [run] = history.runs()
        assert (run.command, run.status) == ("apply", "succeeded")
    again = actions.run("apply.sh", demo, SHARINGTOOLS_STATE_DB=str(db))
    assert again.returncode == 0, again.stderr[-3000:]
    no_secret_shown(actions, demo, result, again)


def test_apply_waits_for_nobody_while_a_reconcile_cycle_holds_the_run_lock(demo: World, actions: Actions) -> None:
    db = actions.root / "state.db"
    with RunLock(db, demo.api, "reconcile --mode fix"):  # the reconciler, mid-cycle, on the same database
        result = actions.run("apply.sh", demo, SHARINGTOOLS_STATE_DB=str(db))
    assert result.returncode == 1
    summary = actions.summary.read_text()
    assert summary.startswith("### Sharingtools apply: error")
    assert "error: another run holds the lock on this installation and state database: reconcile --mode fix" in summary
    no_secret_shown(actions, demo, result)


def test_apply_masks_the_parts_of_the_state_database_url_before_anything_runs(actions: Actions) -> None:
    password = "s3cr3t/p@ss"
    url = "postgresql://orchestrator:s3cr3t%2Fp%40ss@db.internal:5432/orchestrator?sslmode=require"
    (actions.workspace / "playbooks" / "typo.yaml").write_text("version: 1\nentires: []\n")  # stops before apply
    result = actions.run("apply.sh", None, SHARINGTOOLS_STATE_DB=url)
    assert result.returncode == 1
    first = result.stdout.splitlines()[:2]
    assert sorted(first) == sorted([f"::add-mask::{password}", "::add-mask::s3cr3t%2Fp%40ss"])
    rest = "\n".join(result.stdout.splitlines()[2:]) + result.stderr + actions.summary.read_text()
    assert "s3cr3t" not in rest and "do not validate" in actions.summary.read_text()


@pytest.mark.parametrize("script", ["plan-comment.sh", "apply.sh"])
def test_the_scripts_are_strict_bash(script: str) -> None:
    text = (DEPLOY / "github" / script).read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    assert subprocess.run(["bash", "-n", str(DEPLOY / "github" / script)], timeout=TIMEOUT).returncode == 0
    if shutil.which("shellcheck"):  # when the machine has it; not a requirement
        checked = subprocess.run(["shellcheck", str(DEPLOY / "github" / script)], capture_output=True, text=True,
                                 timeout=TIMEOUT)
        assert checked.returncode == 0, checked.stdout


def test_the_readme_names_every_secret_variable_and_file_the_workflow_needs() -> None:
    readme = (DEPLOY.parent / "README.md").read_text()
    text = WORKFLOW.read_text()
    needed = set(re.findall(r"\$\{\{ (?:secrets|vars)\.(\w+) \}\}", text)) - {"GITHUB_TOKEN"}
    assert needed == {"SHARINGTOOLS_API_KEY", "SHARINGTOOLS_STATE_DB", "SHARINGTOOLS_BASE_URL"}
    for name in [*needed, workflow()["jobs"]["apply"]["environment"], "plan-comment.sh", "apply.sh",
                 "orchestrator:changes", "orchestrator:no-changes", MARKER]:
        assert f"`{name}`" in readme, name
