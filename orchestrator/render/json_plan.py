"""The plan as JSON: complete and per change (``docs/plan-schema.json``), for tools and ``apply --plan``."""

from __future__ import annotations

import io
import json
from typing import TextIO

from orchestrator.plan import Plan

_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
_BATCH = 1 << 16  # characters written at a time


def write_json(plan: Plan, out: TextIO) -> None:
    """Write the plan's JSON document, indented for diffs, to ``out`` as it is encoded.

    Why not ``out.write(json.dumps(...))``: with ``indent`` the standard encoder builds the
    text from millions of small pieces held at once; for a plan of 100,000 accounts (~80 MB
    of JSON) that was ~460 MB, more than the whole plan run otherwise needed. Written in
    batches, the text never exists whole; the changes are encoded one at a time from
    `Plan.change_items` (their dicts never exist all at once either), indented as the whole
    document's encoder would (JSON strings hold no raw newline, so re-indenting is exact)."""
    pending: list[str] = []
    size = 0

    def write(text: str) -> None:
        nonlocal size
        pending.append(text)
        size += len(text)
        if size >= _BATCH:
            out.write("".join(pending))
            pending.clear()
            size = 0

    members = [*plan.json_members(), ("checksum", plan.checksum())]
    write("{")
    for i, (key, value) in enumerate(members):
        write(("," if i else "") + "\n  " + json.dumps(key, ensure_ascii=False) + ": ")
        if key == "changes":
            empty = True
            for item in value:
                write(("[\n    " if empty else ",\n    ") + _ENCODER.encode(item).replace("\n", "\n    "))
                empty = False
            write("[]" if empty else "\n  ]")
        elif key == "read" and list(value) == ["accounts", "fingerprints"] and value["fingerprints"]:
            # one line of text per account: written account by account, not as one string
            write(f'{{\n    "accounts": {_ENCODER.encode(value["accounts"])},\n    "fingerprints": {{')
            for j, (account, prints) in enumerate(value["fingerprints"].items()):
                write(("" if j == 0 else ",") + "\n      " + json.dumps(account, ensure_ascii=False) + ": "
                      + _ENCODER.encode(prints).replace("\n", "\n      "))
            write("\n    }\n  }")
        else:
            write(_ENCODER.encode(value).replace("\n", "\n  "))
    write("\n}")
    out.write("".join(pending))


def render_json(plan: Plan) -> str:
    """The plan's JSON document as one string (`write_json` for large plans)."""
    out = io.StringIO()
    write_json(plan, out)
    return out.getvalue()
