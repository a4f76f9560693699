"""Reading files: positions, directories, YAML problems, anchors."""

from __future__ import annotations

from orchestrator.playbook import Source, load_sources, validate, validate_sources
from orchestrator.playbook.loader import parse


def test_every_key_and_value_keeps_its_position() -> None:
    parsed = parse(Source("p.yaml", "groups:\n  g:\n    usernames: [a_*, b]\n"))
    assert not isinstance(parsed, type(None)) and hasattr(parsed, "index")
    index = parsed.index  # type: ignore[union-attr]
    assert str(index.key_at(("groups", "g"))) == "p.yaml:2:3"
    assert str(index.value_at(("groups", "g", "usernames"))) == "p.yaml:3:16"
    assert str(index.value_at(("groups", "g", "usernames", 1))) == "p.yaml:3:22"
    # Paths validation invents fall back to the nearest real ancestor.
    assert str(index.value_at(("groups", "g", "usernames", 1, "x"))) == "p.yaml:3:22"


def test_missing_paths_and_empty_directories(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    problems = [str(d) for d in validate([tmp_path / "nope.yaml", tmp_path / "empty"])]
    assert problems == [
        f"{tmp_path / 'nope.yaml'}: no such file or directory",
        f"{tmp_path / 'empty'}: directory holds no playbooks; playbooks are files ending in .yaml or .yml",
    ]


def test_a_file_named_twice_is_read_once(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("groups: {g: {all: true}}\n")
    assert validate([path, tmp_path, str(path)]) == []


def test_several_documents_are_refused() -> None:
    (problem,) = validate_sources([Source("p.yaml", "groups: {g: {all: true}}\n---\ngroups: {h: {all: true}}\n")])
    assert problem.message == "a playbook file holds one YAML document"


def test_anchors_and_merge_keys_work() -> None:
    text = """
groups: {g: {all: true}}
entries:
  - groups: g
    reactions:
      settings: &slow {likes_speed: 1, daily_pause: true}
  - groups: g
    reactions:
      settings:
        <<: *slow
        likes_speed: 2
"""
    playbook = load_sources([Source("p.yaml", text)])
    settings = playbook.entries[1].spec.reactions.settings.as_dict()  # type: ignore[union-attr]
    assert settings == {"likes_speed": 2, "daily_pause": True}
    # A merged-in key has no line of its own: it is reported at the `<<:` that merges it.
    assert str(playbook.entries[1].locator.at("reactions", "settings", "daily_pause")) == "p.yaml:10:9"


def test_unquoted_times_and_yaml_12_booleans() -> None:
    text = "groups: {g: {all: true}}\nentries:\n  - groups: g\n    repost:\n      settings: {daily_pause_from: 23:00}\n"
    assert validate_sources([Source("p.yaml", text)]) == []
