"""Loading and validating playbooks: the static checks, no API involved.

For each file, in order: YAML syntax and duplicate keys (`loader`), secrets written inline
(`secret_refs`), the schema (`schema`, translated by `schema_errors`); then, across all files,
group names and references (`model.assemble`). Every problem found is reported, sorted by file,
line and column; a file whose YAML does not parse contributes only that one diagnostic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path as FilePath

from pydantic import ValidationError

from orchestrator.playbook.errors import Diagnostic, PlaybookError, did_you_mean, sort_diagnostics
from orchestrator.playbook.fields import MODULE_NAMES, SETTINGS
from orchestrator.playbook.loader import ParsedFile, Source, parse, read_sources
from orchestrator.playbook.model import Playbook, ValidFile, assemble, text_hash
from orchestrator.playbook.positions import format_path
from orchestrator.playbook.schema import PlaybookSpec
from orchestrator.playbook.schema_errors import translate
from orchestrator.playbook.secret_refs import find_inline_secrets

PathLike = str | FilePath


def check_file(parsed: ParsedFile) -> tuple[PlaybookSpec | None, list[Diagnostic]]:
    """Schema-validate one parsed file: the spec when valid, and every problem found."""
    problems: list[Diagnostic] = []
    secrets = find_inline_secrets(parsed.data)
    for secret in secrets:
        position = parsed.index.key_at(secret.path) if secret.on_key else parsed.index.value_at(secret.path)
        problems.append(Diagnostic.at(position, secret.message, secret.hint, path=format_path(secret.path)))
    try:
        spec = PlaybookSpec.model_validate(parsed.data)
    except ValidationError as error:
        problems += translate(error, parsed.index, PlaybookSpec, skip=[s.path for s in secrets])
        return None, problems
    return (None if secrets else spec), problems


def build(sources: Iterable[Source]) -> tuple[Playbook | None, list[Diagnostic]]:
    """The playbook of ``sources`` and every problem found; the playbook is None when any
    problem was found."""
    sources = list(sources)
    problems: list[Diagnostic] = []
    valid: list[ValidFile] = []
    for source in sources:
        parsed = parse(source)
        if isinstance(parsed, Diagnostic):
            problems.append(parsed)
            continue
        spec, found = check_file(parsed)
        problems += found
        if spec is not None:
            valid.append(ValidFile(source.name, spec, parsed.index))
    playbook, found = assemble(valid, complete=len(valid) == len(sources))
    problems += found
    ordered = sort_diagnostics(problems, [s.name for s in sources])
    if ordered:
        return None, ordered
    return replace(playbook, digest=text_hash((s.name, s.text) for s in sources)), ordered


def validate_sources(sources: Iterable[Source]) -> list[Diagnostic]:
    """Every problem in the playbook made of ``sources``, sorted; empty when valid."""
    return build(sources)[1]


def load_sources(sources: Iterable[Source]) -> Playbook:
    """The playbook made of ``sources``; raises `PlaybookError` with every problem found."""
    playbook, problems = build(sources)
    if playbook is None:
        raise PlaybookError(problems)
    return playbook


def validate(paths: Iterable[PathLike] | PathLike) -> list[Diagnostic]:
    """Statically check the playbooks at ``paths`` (files, or directories of ``*.yaml``/``*.yml``
    files, sorted): every problem, sorted by file order, line and column; empty when valid.
    Touches no API."""
    return _build_paths(paths)[1]


def load(paths: Iterable[PathLike] | PathLike) -> Playbook:
    """Load the playbooks at ``paths`` into one `Playbook` (file order, then entry order).

    Raises `PlaybookError` carrying every diagnostic when anything is wrong."""
    playbook, problems = _build_paths(paths)
    if playbook is None:
        raise PlaybookError(problems)
    return playbook


def _build_paths(paths: Iterable[PathLike] | PathLike) -> tuple[Playbook | None, list[Diagnostic]]:
    sources, missing = read_sources(_paths(paths))
    if not sources and not missing:
        missing.append(Diagnostic("<arguments>", 0, 0, "no playbook given"))
    playbook, problems = build(sources)
    if missing:
        return None, missing + problems
    return playbook, problems


def loads(text: str, name: str = "<playbook>") -> Playbook:
    """Load one playbook from text; ``name`` is the file name diagnostics use."""
    return load_sources([Source(name, text)])


def check_live_settings(playbook: Playbook, module: str, live_fields: Iterable[str]) -> list[Diagnostic]:
    """Settings of ``module`` ("reactions") that the playbook names but the live API does not
    return, as diagnostics in the static format. Call it from plan with the keys of one live
    ``GET .../settings`` answer: Reactions Pro's fields are not fully documented, so only the
    server can tell an undocumented field from a typo."""
    if module not in SETTINGS:
        raise ValueError(f"module {module!r} has no settings")
    live = set(live_fields)
    problems = []
    for entry in playbook.entries:
        spec = getattr(entry.spec, module)
        if spec is None or spec.settings is None:
            continue
        for name in spec.settings.as_dict():
            if name not in live:
                problems.append(Diagnostic.at(
                    entry.locator.key_at(module, "settings", name),
                    f"the live API has no {MODULE_NAMES[module]} setting `{name}`",
                    did_you_mean(name, live) or "the server does not know this field",
                    path=f"{module}.settings.{name}"))
    return sort_diagnostics(problems, playbook.files)


def _paths(paths: Iterable[PathLike] | PathLike) -> list[PathLike]:
    if isinstance(paths, (str, FilePath)):
        return [paths]
    return list(paths)


__all__ = ["build", "check_file", "check_live_settings", "load", "load_sources", "loads",
           "validate", "validate_sources"]
