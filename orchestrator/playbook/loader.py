"""Reading playbook files: which files, and YAML to plain values with positions.

ruamel.yaml's round-trip loader keeps the line and column of every key and value. We convert
its tree at once into plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None`` (what the
schema validates) plus a `PositionIndex`, so nothing downstream depends on ruamel's types.
The YAML 1.2 rules apply: ``23:00`` and ``yes`` stay strings.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from orchestrator.playbook.errors import Diagnostic
from orchestrator.playbook.limits import MAX_FILE_BYTES, MAX_TOTAL_BYTES, BoundedComposer, LimitExceeded
from orchestrator.playbook.positions import NodeList, NodeMap, Path, Position, PositionIndex

#: File names a directory contributes, in sorted order.
PLAYBOOK_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Source:
    """One playbook's text and the name diagnostics use for it."""

    name: str
    text: str


@dataclass(frozen=True)
class ParsedFile:
    """One YAML document as plain values, with the position of every node."""

    name: str
    data: dict[str, Any]
    index: PositionIndex


class _PlaybookConstructor(RoundTripConstructor):
    """ruamel's round-trip constructor, keeping timestamps as text.

    A date-looking value is text to a playbook (a caption titled ``2024-06-01``, a
    ``expiration_date`` the schema checks itself); ruamel would turn it into a date, or fail on
    ``2026-13-01`` without saying where. A subclass, so no other ruamel user is affected."""


_PlaybookConstructor.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _PlaybookConstructor
    yaml.Composer = BoundedComposer  # depth, aliases and expanded size bounded (see limits.py)
    yaml.allow_duplicate_keys = False
    return yaml


class _Unsupported(Exception):
    def __init__(self, position: Position, message: str, hint: str) -> None:
        self.diagnostic = Diagnostic.at(position, message, hint)


def discover(paths: Iterable[str | FilePath]) -> tuple[list[FilePath], list[Diagnostic]]:
    """The playbook files named by ``paths``, in order: a file as given, a directory as its
    ``*.yaml``/``*.yml`` files sorted by name. A file named twice is read once."""
    files: list[FilePath] = []
    problems: list[Diagnostic] = []
    seen: set[FilePath] = set()
    for given in paths:
        path = FilePath(given)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in PLAYBOOK_SUFFIXES)
            if not found:
                problems.append(Diagnostic(str(path), 0, 0, "directory holds no playbooks",
                                           "playbooks are files ending in .yaml or .yml"))
        elif path.is_file():
            found = [path]
        else:
            problems.append(Diagnostic(str(path), 0, 0, "no such file or directory"))
            continue
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, problems


def read_sources(paths: Iterable[str | FilePath]) -> tuple[list[Source], list[Diagnostic]]:
    """The text of every playbook file named by ``paths`` (see `discover`)."""
    files, problems = discover(paths)
    sources = []
    total = 0
    for file in files:
        try:
            with file.open("rb") as stream:  # bounded read: the size a stat reports may lie (/proc, a FIFO)
                data = stream.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            problems.append(Diagnostic(str(file), 0, 0, f"cannot read the file: {error.strerror or error}"))
            continue
        if len(data) > MAX_FILE_BYTES:
            problems.append(Diagnostic(str(file), 0, 0,
                                       f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB (the limit)",
                                       "a playbook is a few KiB; split it into several files"))
            continue
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            problems.append(Diagnostic(str(file), 0, 0,
                                       f"the playbooks given together pass {MAX_TOTAL_BYTES // 2**20} MiB",
                                       "apply them in several runs (--limit, or fewer files at a time)"))
            break
        try:
            sources.append(Source(str(file), data.decode("utf-8")))
        except UnicodeDecodeError as error:
            problems.append(Diagnostic(str(file), 0, 0, f"the file is not UTF-8 text (byte {error.start})",
                                       "save it as UTF-8"))
    return sources, problems


def parse(source: Source) -> ParsedFile | Diagnostic:
    """The document in ``source`` as plain values and positions, or the diagnostic saying why
    it is not a usable YAML mapping."""
    if len(source.text) > MAX_FILE_BYTES:
        return Diagnostic(source.name, 0, 0, f"the playbook is larger than {MAX_FILE_BYTES // 2**20} MiB (the limit)",
                          "a playbook is a few KiB; split it into several files")
    if not source.text.strip() or _only_comments(source.text):
        return Diagnostic(source.name, 1, 1, "the playbook is empty",
                          "a playbook is a mapping with `groups:` and `entries:`; see the README's playbook reference")
    try:
        documents = list(_yaml().load_all(source.text))
    except LimitExceeded as error:
        return Diagnostic(source.name, error.line, error.col, error.message, error.hint)
    except DuplicateKeyError as error:
        return _duplicate_key(source.name, error)
    except MarkedYAMLError as error:
        return _syntax_error(source.name, error)
    except ReaderError as error:  # a character YAML does not allow (NUL, most control characters)
        line, col = _line_col(source.text, error.position)
        return Diagnostic(source.name, line, col, f"a character YAML does not allow ({error.character!r})",
                          "remove it; playbooks are plain UTF-8 text")
    except TypeError:  # ruamel builds a mapping or list used as a key (``? {a: 1}``) and cannot hash it
        return Diagnostic(source.name, 1, 1, "a key must be a plain name", "complex YAML keys are not supported")
    except (YAMLError, ValueError) as error:  # ruamel marks nearly every error
        return Diagnostic(source.name, 1, 1, "YAML error: " + " ".join(str(error).split()))
    documents = [d for d in documents if d is not None]
    if not documents:
        return Diagnostic(source.name, 1, 1, "the playbook is empty",
                          "a playbook is a mapping with `groups:` and `entries:`")
    if len(documents) > 1:
        return Diagnostic(source.name, 1, 1, "a playbook file holds one YAML document",
                          "split the `---` documents into separate files")
    root = documents[0]
    if not isinstance(root, CommentedMap):
        kind = "a list" if isinstance(root, CommentedSeq) else "a single value"
        return Diagnostic(source.name, 1, 1, f"the playbook is {kind}, not a mapping",
                          "a playbook starts with keys such as `groups:` and `entries:`")
    index = PositionIndex(source.name)
    index.add((), None, Position(source.name, 1, 1))
    try:
        data = _plain(root, (), index)
    except _Unsupported as unsupported:
        return unsupported.diagnostic
    return ParsedFile(source.name, data, index)


def _line_col(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of the character at ``position``."""
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def _pos(file: str, line_col: tuple[int, int] | list[int] | None, fallback: Position) -> Position:
    if line_col is None:
        return fallback
    line, col = line_col[0], line_col[1]
    return Position(file, line + 1, col + 1)


def _plain(node: Any, path: Path, index: PositionIndex) -> Any:
    """``node`` as plain Python values, recording the place of every child in ``index`` and,
    for the models to keep with the values, in each `NodeMap`/`NodeList`."""
    here = index.value_at(path)
    if isinstance(node, CommentedMap):
        out = NodeMap()
        for key, value in node.items():
            try:
                key_pos = _pos(index.file, node.lc.key(key), here)
                value_pos = _pos(index.file, node.lc.value(key), key_pos)
            except KeyError:
                # Keys merged in with `<<: *anchor` have no position of their own here.
                key_pos = value_pos = here
            if isinstance(key, (CommentedMap, CommentedSeq)):
                raise _Unsupported(key_pos, "a key must be a plain name", "complex YAML keys are not supported")
            plain_key = _scalar(key, key_pos)
            child = path + (plain_key,)
            index.add(child, key_pos, value_pos)
            out.positions[plain_key] = value_pos
            out[plain_key] = _plain(value, child, index)
        return out
    if isinstance(node, CommentedSeq):
        items = NodeList()
        for i, value in enumerate(node):
            try:
                item_pos = _pos(index.file, node.lc.item(i), here)
            except (KeyError, IndexError):
                item_pos = here
            index.add(path + (i,), None, item_pos)
            items.positions.append(item_pos)
            items.append(_plain(value, path + (i,), index))
        return items
    return _scalar(node, here)


def _scalar(value: Any, position: Position) -> Any:
    if isinstance(value, TaggedScalar):
        raise _Unsupported(position, f"YAML tag `{value.tag}` is not supported",
                           "write the value without a `!tag`")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)  # ScalarInt, OctalInt, ... -> int
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)  # DoubleQuotedScalarString, LiteralScalarString, ... -> str
    if isinstance(value, (dt.datetime, dt.date)):
        # ruamel's TimeStamp is a datetime subclass; keep only the datetime.
        if isinstance(value, dt.datetime):
            return dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second)
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, (bytes, Mapping, set)):
        raise _Unsupported(position, f"a {type(value).__name__} value is not supported",
                           "use text, numbers, lists and mappings")
    raise _Unsupported(position, f"unsupported YAML value of type {type(value).__name__}",
                       "use text, numbers, lists and mappings")


def _duplicate_key(file: str, error: DuplicateKeyError) -> Diagnostic:
    mark = error.problem_mark
    match = re.search(r'duplicate key "(.*?)"', error.problem or "")
    key = match.group(1) if match else "?"
    first = error.context_mark
    where = f" (the mapping starts at line {first.line + 1})" if first is not None else ""
    return Diagnostic(file, mark.line + 1, mark.column + 1, f"duplicate key `{key}`{where}",
                      "YAML would silently keep only one of them: merge the two into one")


def _syntax_error(file: str, error: MarkedYAMLError) -> Diagnostic:
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = (error.problem or "invalid YAML").strip()
    hint = None
    if "\\t" in problem or "'\\t'" in problem:
        hint = "indent with spaces; YAML does not allow tabs"
    elif error.context:
        hint = error.context.strip()
        if error.context_mark is not None and error.context_mark is not mark:
            hint += f" started at line {error.context_mark.line + 1}, column {error.context_mark.column + 1}"
    return Diagnostic(file, line, col, f"YAML syntax error: {problem}", hint)
