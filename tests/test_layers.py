"""The layers, kept honest: every ``orchestrator`` import is checked against what its layer may use,
and no two of the orchestrator's own modules import each other in a circle.

    cli -> reconcile -> apply -> planning -> kinds -> plan -> contract
    cli, reconcile -> render -> plan (and the state and apply records it shows)
    cli, reconcile -> status (the status page: reads the state store itself) -> render, plan, state.store
    apply, reconcile -> state (journal, history, applied values, drift, lock) -> plan
    planning -> playbook (loading, and producing desired state) -> contract, text
    kinds, planning, apply, importer -> api (client, settings, fan-out) -> log
    importer -> api, playbook;   emulator -> text, nothing of the core
    emulator, status, reconcile -> serving (uvicorn's limits for every server of ours) -> nothing

A plain walk over the source with `ast` (the idea of import-linter, without the dependency):
it sees every import, including those inside functions, so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "orchestrator"

# Layer (a top-level package of ``orchestrator``) -> the layers it may import. Anything not listed is forbidden.
ALLOWED: dict[str, frozenset[str]] = {
    "contract": frozenset(),
    "log": frozenset(),
    "text": frozenset(),
    "serving": frozenset(),
    "emulator": frozenset({"text", "serving"}),
    "playbook": frozenset({"contract", "text"}),
    # The client, its settings and the bounded fan-out its callers share.
    "api": frozenset({"log"}),
    "plan": frozenset({"contract"}),
    "kinds": frozenset({"plan", "contract", "api", "log"}),
    # The state database remembers plans' changes (applied values), nothing of how they are made.
    "state": frozenset({"plan", "contract", "log"}),
    "planning": frozenset({"kinds", "plan", "contract", "api", "playbook", "log"}),
    "apply": frozenset({"planning", "kinds", "plan", "contract", "api", "state", "log", "playbook"}),
    # Views of plans, of the engine's events and reports, and of the history.
    "render": frozenset({"plan", "contract", "apply", "state"}),
    "reconcile": frozenset({"apply", "planning", "kinds", "plan", "contract", "api", "state", "log", "playbook",
                            "render", "status", "serving"}),
    # The status page, a view of the state store: its reads are its own (status/queries.py, plain SQL
    # on a read-only connection of either backend), of one installation (state.store: the id, URLs
    # and their masking, the schema version); changes grouped as render groups them.
    "status": frozenset({"render", "plan", "contract", "log", "state", "serving"}),
    # Writes playbooks, so it checks what it writes against the playbook's own schema.
    "importer": frozenset({"api", "contract", "playbook"}),
    "cli": frozenset({"reconcile", "apply", "planning", "kinds", "plan", "contract", "api", "state", "log",
                      "playbook", "render", "importer", "emulator", "status"}),
}

# What the engine side (planning, apply) may take from the playbook package: loading a
# playbook and turning it into the contract's desired state. Types come from the contract.
PLAYBOOK_PUBLIC = frozenset({
    "load", "loads", "load_sources", "validate", "validate_sources", "Playbook", "PlaybookError", "Diagnostic",
    "Source", "desired_state", "limited_to", "check_live_settings",
    # Entry windows: which entries apply when, and when that changes (plans list it, reconcile wakes on it).
    "window_events", "next_window_event", "window_states",
})
# Layers that may reach into the playbook package beyond its public interface.
PLAYBOOK_INSIDERS = frozenset({"playbook", "cli", "importer"})
# The module `python -m orchestrator` runs belongs to the command line.
SINGLE_MODULES = {"__main__": "cli"}


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
    ("orchestrator/planning/x.py", "from orchestrator.playbook import Kind", "takes Kind from the playbook"),
    ("orchestrator/planning/x.py", "from orchestrator.playbook.merge import desired_state", "playbook's internals"),
    ("orchestrator/contract/x.py", "from orchestrator.plan import Change", "contract may not import plan"),
    ("orchestrator/playbook/x.py", "from ..apply import run", "playbook may not import apply"),
    ("orchestrator/plan/x.py", "from orchestrator.state import history", "plan may not import state"),
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


def test_the_package_holds_only_packages():
    """The folders tell the flow: nothing but ``__init__`` and ``__main__`` at the top."""
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert loose == []


def module_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the orchestrator modules it imports (outside the emulator), every import counted.

    ``from orchestrator.planning import planner`` is an edge to the submodule when one exists, else
    to the package; importing a submodule is not counted as importing its parent package."""
    modules = {module_name(p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        if module.startswith("orchestrator.emulator"):
            continue
        edges = graph.setdefault(module, set())
        for _line, target, names in imports(path):
            if not target.startswith("orchestrator") or target.startswith("orchestrator.emulator"):
                continue
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            for dest in subs or [target]:
                if dest in modules and dest != module:
                    edges.add(dest)
            if subs and len(subs) < len(names) and target in modules and target != module:
                edges.add(target)  # names taken from the package itself, beside its submodules
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_import_cycle_outside_the_emulator():
    assert cycles(module_graph(PACKAGE)) == []


def test_the_cycle_check_sees_a_cycle(tmp_path, monkeypatch):
    root = tmp_path / "orchestrator"
    (root / "plan").mkdir(parents=True)
    (root / "__init__.py").touch()
    (root / "plan" / "__init__.py").touch()
    (root / "plan" / "a.py").write_text("from orchestrator.plan import b\n")
    (root / "plan" / "b.py").write_text("def f():\n    from orchestrator.plan.a import x\n")
    (root / "plan" / "c.py").write_text("from orchestrator.plan import a\n")
    monkeypatch.setitem(globals(), "PACKAGE", root)
    assert cycles(module_graph(root)) == [["orchestrator.plan.a", "orchestrator.plan.b"]]


# -- the tests' own imports -----------------------------------------------------------------------------------------
# A helper two test directories share lives in tests/harness. A test module may import that, the root conftest and
# its own directory's conftest; never another directory's conftest or module, and no module imports a test module.
TESTS = Path(__file__).resolve().parent


def imports_in_tests(root: Path) -> Iterator[tuple[Path, int, str]]:
    """(file, line, module) for every import in the test tree at ``root``, including those inside
    functions; ``from P import n`` counts as importing ``P.n`` when that is a module of the tree
    (or is named like a test module)."""
    modules = {".".join(p.relative_to(root.parent).with_suffix("").parts) for p in root.rglob("*.py")}
    for path in sorted(root.rglob("*.py")):
        package = path.relative_to(root.parent).parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = list(package[:len(package) - (node.level - 1)])
                    base = ".".join([*anchor, base] if base else anchor)
                subs = [f"{base}.{alias.name}" for alias in node.names
                        if f"{base}.{alias.name}" in modules or alias.name.startswith("test_")]
                for target in subs or [base]:
                    yield path, node.lineno, target
                if subs and len(subs) < len(node.names):
                    yield path, node.lineno, base  # names taken from the module itself, beside its submodules


def import_violations_in(root: Path) -> list[str]:
    """Every import in the test tree at ``root`` that breaks the rule, naming the file, line and module."""
    found: list[str] = []
    top = root.name
    for path, line, target in imports_in_tests(root):
        parts = target.split(".")
        where = f"{path.relative_to(root.parent)}:{line}"
        own_conftest = ".".join((*path.relative_to(root.parent).parts[:-1], "conftest"))
        if any(part.startswith("test_") for part in parts):
            found.append(f"{where}: imports the test module {target} (a helper two modules share goes in "
                         f"{top}/harness)")
        elif parts[0] == top and len(parts) > 1 and not (
                parts[1] == "harness" or target in (f"{top}.conftest", own_conftest)):
            found.append(f"{where}: imports {target}, which is not {top}.harness, {top}.conftest or its own "
                         f"directory's conftest ({own_conftest}): what two directories share goes in {top}/harness")
    return found


def test_tests_import_only_the_harness_and_their_own_conftest():
    assert import_violations_in(TESTS) == []


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("tests/status/test_browser.py", "from tests.status.test_serve import free_port",
     "tests/status/test_browser.py:1: imports the test module tests.status.test_serve"),
    ("tests/status/test_browser.py", "from tests.status import test_serve",
     "tests/status/test_browser.py:1: imports the test module tests.status.test_serve"),
    ("tests/status/test_browser.py", "from . import test_serve",
     "tests/status/test_browser.py:1: imports the test module tests.status.test_serve"),
    ("tests/harness/world.py", "import tests.status.test_serve",
     "tests/harness/world.py:1: imports the test module tests.status.test_serve"),
    ("tests/plan/test_live.py", "from tests.reliability.conftest import Rule",
     "tests/plan/test_live.py:1: imports tests.reliability.conftest, which is not"),
    ("tests/fleet/conftest.py", "from tests.uvicorn.conftest import served",
     "tests/fleet/conftest.py:1: imports tests.uvicorn.conftest"),
    ("tests/apply/test_plan.py", "def f():\n    from tests.reconcile.conftest import PLAYBOOK",
     "tests/apply/test_plan.py:2: imports tests.reconcile.conftest"),
    ("tests/client/test_envelope.py", "from tests.reliability.lying_proxy import Lie",
     "tests/client/test_envelope.py:1: imports tests.reliability.lying_proxy"),
    ("tests/harness/world.py", "from tests.plan.conftest import Cli", "tests/harness/world.py:1: imports tests.plan"),
])
def test_the_test_import_check_sees_a_violation(tmp_path, module, line, expected):
    """The walk itself: one forbidden import in a fake test tree is reported, by file and import."""
    root = tmp_path / "tests"
    for name in ("status/test_serve.py", "reliability/conftest.py", "reliability/lying_proxy.py",
                 "uvicorn/conftest.py", "reconcile/conftest.py", "plan/conftest.py", "harness/world.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).touch()
    (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / module).write_text(line + "\n")
    found = import_violations_in(root)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_the_test_import_check_allows_the_harness_and_the_conftests(tmp_path):
    root = tmp_path / "tests"
    (root / "plan").mkdir(parents=True)
    (root / "harness").mkdir()
    for name in ("conftest.py", "plan/conftest.py", "harness/__init__.py", "harness/world.py"):
        (root / name).touch()
    (root / "plan" / "test_cli.py").write_text(
        "from tests.plan.conftest import Cli\nfrom tests.conftest import world\nfrom tests.harness import Served\n"
        "from tests.harness.world import client_for\nimport tests.harness.world\nfrom .conftest import Cli\n"
        "from tests import conftest\n")
    (root / "harness" / "world.py").write_text("from tests.harness.world import x\nfrom tests.conftest import y\n")
    assert import_violations_in(root) == []
