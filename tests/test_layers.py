"""The layers, kept honest: every ``orchestrator`` import is checked against what its layer may use.

    cli, demo -> reconcile, runner -> engine -> planner, policy -> kinds -> plan -> contract
    cli, runner -> render -> plan;   engine -> applied -> plan
                                       |                  \\-> api -> settings, log
                                       \\-> playbook (loading, and producing desired state)
    playbook -> contract, text;   contract -> nothing;   emulator -> text, nothing of the core
    text (formats both sides share, such as spintax) -> nothing
    fanout (bounded concurrent work, for kinds, planner, engine, importer) -> nothing

A plain walk over the source with `ast` (the idea of import-linter, without the dependency):
it sees every import, including those inside functions, so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "orchestrator"

# Layer -> the other layers it may import. Anything not listed is forbidden.
ALLOWED: dict[str, frozenset[str]] = {
    "contract": frozenset(),
    "log": frozenset(),
    "text": frozenset(),
    "fanout": frozenset(),
    "emulator": frozenset({"text"}),
    "playbook": frozenset({"contract", "text"}),
    # The client builds itself from `Settings`, and settings raise the client's config error.
    "api": frozenset({"log", "settings"}),
    "settings": frozenset({"api", "log"}),
    "history": frozenset({"log"}),
    "plan": frozenset({"contract"}),
    "render": frozenset({"plan", "contract"}),
    # The last applied values, next to the history: what tells drift from new intent.
    "applied": frozenset({"plan", "log"}),
    "kinds": frozenset({"plan", "contract", "api", "log", "fanout"}),
    "policy": frozenset({"plan", "contract"}),
    "planner": frozenset({"kinds", "plan", "contract", "api", "playbook", "shard", "fanout"}),
    "engine": frozenset({"planner", "policy", "kinds", "plan", "contract", "api", "history", "log", "playbook",
                         "applied", "shard", "fanout"}),
    "runner": frozenset({"engine", "planner", "policy", "kinds", "plan", "contract", "api", "history", "log",
                         "playbook", "settings", "lock", "render", "applied", "shard"}),
    # The run lock and the metrics stand alone; reconcile drives the engine like the runner does.
    "lock": frozenset(),
    "metrics": frozenset(),
    "reconcile": frozenset({"engine", "planner", "policy", "kinds", "plan", "contract", "api", "history", "log",
                            "playbook", "settings", "lock", "metrics", "shard"}),
    "cli": frozenset({"runner", "engine", "planner", "policy", "kinds", "plan", "contract", "api", "history", "log",
                      "playbook", "settings", "emulator", "reconcile", "lock", "metrics", "render", "applied",
                      "shard", "importer"}),
    # Which accounts a process manages: a filter on the contract's desired state.
    "shard": frozenset({"contract"}),
    # Writes playbooks, so it checks what it writes against the playbook's own schema.
    "importer": frozenset({"api", "contract", "playbook", "fanout"}),
}

# What the engine side (planner, engine) may take from the playbook package: loading a
# playbook and turning it into the contract's desired state. Types come from the contract.
PLAYBOOK_PUBLIC = frozenset({
    "load", "loads", "load_sources", "validate", "validate_sources", "Playbook", "PlaybookError", "Diagnostic",
    "Source", "desired_state", "limited_to", "check_live_settings",
})
# Layers that may reach into the playbook package beyond its public interface.
PLAYBOOK_INSIDERS = frozenset({"playbook", "cli", "runner", "importer"})

SINGLE_MODULES = {
    "cli": "cli", "__main__": "cli", "demo": "cli", "runner": "runner", "planner": "planner", "policy": "policy",
    # issue 10: the CLI's error boundary; signals for runs; the state database opened with a
    # clear error; reads that fail per account (planner); saved plans checked (engine's kinds).
    "error_boundary": "cli", "interrupts": "runner", "state_db": "history", "read_failures": "planner",
    "saved_plan": "engine",
    "plan": "plan", "log": "log", "settings": "settings", "history": "history", "shard": "shard",
    "cli_examples": "cli", "history_view": "cli", "run_display": "runner", "applied": "applied",
    # Blocked changes are part of what a plan is; drift rows live beside the run history.
    "blockers": "plan", "drift": "history", "lock": "lock", "metrics": "metrics", "reconcile": "reconcile",
    "fanout": "fanout",
}


def layer_of(module: str) -> str | None:
    """The layer of a dotted module name inside ``orchestrator`` (None for the package itself)."""
    parts = module.split(".")
    if parts[0] != "orchestrator" or len(parts) < 2:
        return None
    return SINGLE_MODULES.get(parts[1], parts[1])


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(line, imported module, names taken from it) for every import in one file."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = tuple(alias.name for alias in node.names)
            # `from orchestrator import playbook` imports the submodule `orchestrator.playbook`.
            if base == "orchestrator":
                for name in names:
                    yield node.lineno, f"orchestrator.{name}", ()
            else:
                yield node.lineno, base, names


def violations() -> list[str]:
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = layer_of(module_name(path))
        if here is None:
            continue
        for line, target, names in imports(path):
            there = layer_of(target)
            if there is None or there == here:
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if there not in ALLOWED[here]:
                found.append(f"{where}: {here} may not import {there} ({target})")
            elif there == "playbook" and here not in PLAYBOOK_INSIDERS:
                if target != "orchestrator.playbook":
                    found.append(f"{where}: {here} imports the playbook's internals ({target})")
                elif extra := sorted(set(names) - PLAYBOOK_PUBLIC):
                    found.append(f"{where}: {here} takes {', '.join(extra)} from the playbook: "
                                 "types come from orchestrator.contract")
    return found


def test_every_module_has_a_layer():
    layers = {layer_of(module_name(p)) for p in PACKAGE.rglob("*.py")} - {None}
    assert layers <= set(ALLOWED), sorted(layers - set(ALLOWED))


def test_imports_follow_the_layers():
    assert violations() == []


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("orchestrator/kinds/x.py", "from orchestrator.playbook import Kind", "kinds may not import playbook"),
    ("orchestrator/planner.py", "from orchestrator.playbook import Kind", "takes Kind from the playbook"),
    ("orchestrator/planner.py", "from orchestrator.playbook.merge import desired_state", "playbook's internals"),
    ("orchestrator/contract/x.py", "from orchestrator.plan import Change", "contract may not import plan"),
    ("orchestrator/playbook/x.py", "from ..engine import apply", "playbook may not import engine"),
    ("orchestrator/emulator/x.py", "from orchestrator import log", "emulator may not import log"),
    ("orchestrator/api/x.py", "def f():\n    from orchestrator.kinds import KINDS", "api may not import kinds"),
])
def test_the_checker_sees_a_violation(tmp_path, monkeypatch, module, line, expected):
    """The walk itself: a forbidden import in a fake tree is reported (so an empty list means something)."""
    root = tmp_path / "orchestrator"
    target = tmp_path / module
    target.parent.mkdir(parents=True, exist_ok=True)
    for folder in (root, target.parent):
        (folder / "__init__.py").touch()
    target.write_text(line + "\n")
    monkeypatch.setitem(globals(), "PACKAGE", root)
    found = violations()
    assert len(found) == 1 and expected in found[0], found
