"""The example playbooks validate, alone with the shared groups and all together, and the
reference documentation covers every field and target type the schema knows."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.contract import Kind
from orchestrator.contract.target_types import REACTIONS_TARGET_TYPES, REPOST_TARGET_TYPES
from orchestrator.playbook import desired_state, load, validate
from orchestrator.playbook.fields import REACTIONS_SETTINGS, REPOST_SETTINGS
from tests.playbook.conftest import DEMO_ACCOUNTS

ROOT = Path(__file__).parents[2]
PLAYBOOKS = ROOT / "playbooks"
GROUPS = PLAYBOOKS / "groups.yaml"
EXAMPLES = sorted(p for p in PLAYBOOKS.glob("*.yaml") if p != GROUPS)
REFERENCE = ROOT / "README.md"


def test_the_directory_validates_cleanly() -> None:
    assert validate([PLAYBOOKS]) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_validates_with_the_shared_groups(path: Path) -> None:
    assert validate([GROUPS, path]) == []


def test_the_expected_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"growth.yaml", "repost-network.yaml", "welcome.yaml", "captions.yaml", "leads.yaml"} <= names


def test_examples_resolve_against_the_demo_world() -> None:
    desired = desired_state(load(PLAYBOOKS), DEMO_ACCOUNTS)
    assert desired.kinds() == frozenset(Kind)
    # Precedence as the growth playbook promises: the flagships' override beats the niche.
    nova = desired.get(1, Kind.REACTIONS)
    assert nova is not None and nova.settings["likes_speed"].value == 4
    assert nova.settings["likes_speed"].file.endswith("growth.yaml")
    # The accounts without a Welcome DM schedule are excluded.
    assert desired.get(5, Kind.WELCOMEDM) is None and desired.get(1, Kind.WELCOMEDM) is not None


def test_the_reference_documents_every_field_and_target_type() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    names = [*REACTIONS_SETTINGS, *REPOST_SETTINGS, *REACTIONS_TARGET_TYPES, *REPOST_TARGET_TYPES]
    missing = [name for name in names if f"`{name}`" not in text]
    assert not missing, f"README.md does not mention {missing}"
