"""The examples at the foot of each command's ``--help`` (typer prints them as the epilog)."""

from __future__ import annotations


def examples(*lines: str) -> str:
    """An epilog: one example per paragraph (typer joins single newlines)."""
    return "\n\n".join(["[bold]Examples[/]", *(f"  $ {line}" for line in lines)])


MAIN = examples(
    "orchestrator demo",
    "orchestrator validate playbooks/",
    "orchestrator plan playbooks/",
    "orchestrator apply playbooks/",
    "orchestrator --install-completion",
)
EMULATOR_SERVE = examples(
    "orchestrator emulator serve --seed demo --keys-file keys.json",
    "orchestrator emulator serve --seed accounts=800 --db world.db --port 9000",
)
API = examples(
    "orchestrator api GET accounts",
    "orchestrator api GET reactions/schedules --paginate",
    "orchestrator api PATCH reactions/schedules/42/settings -d '{\"likes_speed\": 3}'",
)
VALIDATE = examples(
    "orchestrator validate playbooks/",
    "orchestrator validate playbooks/groups.yaml playbooks/growth.yaml",
)
PLAN = examples(
    "orchestrator plan playbooks/",
    "orchestrator plan playbooks/ --detail --limit fashion",
    "orchestrator plan playbooks/ --format markdown > plan.md   (for a pull-request comment)",
    "orchestrator plan playbooks/ --format markdown --marker orchestrator:plan --full-markdown full.md   (CI)",
    "orchestrator plan playbooks/ --format json --out plan.json   (the complete plan; apply it with apply --plan)",
    "orchestrator plan playbooks/ --detailed-exitcode --strict   (in CI: 2 when there are changes, 1 on any problem)",
)
APPLY = examples(
    "orchestrator apply playbooks/",
    "orchestrator apply playbooks/ --plan plan.json --yes",
    "orchestrator apply playbooks/ --limit fitness_lift --waves 1,10%,100%",
    "orchestrator apply playbooks/ --allow pause:fashion --report run.json",
    "orchestrator apply playbooks/ --resume",
)
HISTORY = examples(
    "orchestrator history",
    "orchestrator history --limit 50 --state-db /var/lib/orchestrator/state.db",
    "orchestrator history --state-db postgresql://orchestrator@db.internal/orchestrator",
)
HISTORY_PRUNE = examples(
    "orchestrator history prune",
    "orchestrator history prune --older-than 30d --keep 5000",
)
HISTORY_SHOW = examples(
    "orchestrator history show 12",
    "orchestrator history show 12 --json",
)
RECONCILE = examples(
    "orchestrator reconcile playbooks/ --once --mode report",
    "orchestrator reconcile playbooks/ --every 15m --metrics-port 9108   (metrics, health and the status page)",
)
STATUS_SERVE = examples(
    "orchestrator status serve --state-db .orchestrator/state.db   (http://127.0.0.1:9109/)",
    "orchestrator status serve --state-db /var/lib/orchestrator/state.db --host 0.0.0.0 --port 8080",
)
DEMO = examples("orchestrator demo")
