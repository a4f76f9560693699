"""Writing an imported playbook as YAML, with the comments a reviewer needs.

ruamel.yaml writes it (the loader reads with it too), so comments sit where they belong:
the header says where the file came from and what to fill in, a secret reference says what
it stands for. Text that another YAML reader could take for a number, a time or a boolean
(``"23:00"``, ``"yes"``) is quoted, as the README writes it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from orchestrator.importer.layout import Entry, Group, Layout
from orchestrator.contract import Kind

# Plain text YAML 1.1 readers would turn into something else (the loader reads YAML 1.2, but
# people and other tools read these files too).
_AMBIGUOUS = re.compile(
    r"^(?:[-+]?[0-9][0-9_:.eE+-]*|y|n|yes|no|on|off|true|false|null|~|\.inf|\.nan)$", re.IGNORECASE)
_FLOW_MAX = 12  # lists of scalars up to this many items stay on one line when they fit


def render(layout: Layout, header: Sequence[str]) -> str:
    doc = CommentedMap()
    doc["version"] = 1
    if layout.groups:
        doc["groups"] = groups = CommentedMap()
        for group in layout.groups:
            groups[group.name] = _group(group)
            if group.comment:
                groups.yaml_add_eol_comment(group.comment, group.name)
    if layout.entries:
        doc["entries"] = entries = CommentedSeq()
        for i, entry in enumerate(layout.entries):
            entries.append(_entry(entry))
            if entry.comment:
                entries.yaml_set_comment_before_after_key(i, before=_wrap(entry.comment), indent=2)
    if layout.captions:
        library = CommentedMap((title, _scalar(text)) for title, text in sorted(layout.captions.items()))
        doc["captions"] = CommentedMap(library=library)
        doc.yaml_set_comment_before_after_key(
            "captions",
            before="The caption library of the API key's user (additive: add `prune: true` to make it exact).")
    doc.yaml_set_start_comment("\n".join(header))
    yaml = YAML()
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(doc, out)
    # ruamel leaves a space at the end of wrapped flow lists; outside block scalars (which
    # _scalar only uses for text without trailing spaces) trailing spaces carry no meaning.
    return "".join(line.rstrip() + "\n" for line in out.getvalue().splitlines())


def _wrap(text: str, width: int = 94) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


def _group(group: Group) -> CommentedMap:
    out = CommentedMap()
    for key, value in group.selection.items():
        out[key] = _flow([_scalar(v) for v in value]) if isinstance(value, list) else _scalar(value)
    return out


def _entry(entry: Entry) -> CommentedMap:
    out = CommentedMap()
    out["name"] = _scalar(entry.name)
    out["groups"] = _scalar(entry.groups[0]) if len(entry.groups) == 1 else _flow(entry.groups)
    for kind in Kind:
        if kind not in entry.kinds:
            continue
        value = entry.kinds[kind]
        out[kind.value] = node = _node(value)
        if kind is Kind.ACCOUNT and isinstance(value.get("proxy"), Mapping):
            node.yaml_add_eol_comment(
                f"fill in: this proxy carries credentials; set {value['proxy']['env']} to it before plan or apply",
                "proxy")
    return out


# Keys of list items in the order the README writes them (a target's type before its id, a
# schedule's targets before its comments); the values arrive with their keys sorted.
_ITEM_ORDER = {"username": 0, "user_pk": 1, "task_name": 0, "targets": 0, "comments": 1, "mode": 2, "state": 3,
               "id": 9, "name": -1, "type": 0, "media": 1, "caption": 2, "at": 4}


def _node(value: Any, key: str | None = None, item: bool = False) -> Any:
    if isinstance(value, Mapping):
        node = CommentedMap()
        keys = sorted(value, key=lambda k: _ITEM_ORDER.get(k, 0)) if item else list(value)
        for k in keys:
            node[k] = _node(value[k], k)
        secret_or_proxy = key in ("proxy", "custom_proxy") or set(value) in ({"env"}, {"file"})
        user_target = len(value) == 2 and "username" in value and "user_pk" in value
        library_file = set(value) == {"id"}  # a post's file by media id: `{id: 42}`
        if secret_or_proxy or user_target or library_file:
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        items = [_node(v, item=True) for v in value]
        if value and all(isinstance(v, str) and "\n" not in v and len(v) < 40 for v in value) \
                and len(value) <= _FLOW_MAX and key not in ("comments", "targets"):
            return _flow(items)
        if key == "media" and all(isinstance(v, Mapping) and set(v) == {"id"} for v in value):
            return _flow(items)  # a post's files by media id: `media: [{id: 42}, {id: 43}]`
        seq = CommentedSeq(items)
        return seq
    if key == "id" and isinstance(value, str) and value.isdigit() and not value.startswith("0"):
        return int(value)  # a target's numeric id reads best as a number (the schema takes both)
    return _scalar(value)


def _flow(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _scalar(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if "\n" in value and not value.startswith((" ", "\t")) and not any(
            line != line.rstrip() for line in value.split("\n")):
        return LiteralScalarString(value)
    if _AMBIGUOUS.match(value) or value == "" or value != value.strip():
        return DoubleQuotedScalarString(value)
    return value
