"""A stand-in for the GitHub CLI's ``gh api``, for the tests of ``deploy/github/*.sh``.

It does what those scripts ask of GitHub's REST API on one repository, and keeps the result
in a JSON file (``FAKE_GH_STATE``): an issue's comments (GitHub refuses a body over 65,536
characters, and so does this), its labels. Every call is appended to ``FAKE_GH_LOG`` as one
JSON line: the arguments, the fields as sent (a ``@file`` field read, as gh reads it), the
answer's status. Like gh it needs ``GH_TOKEN`` (it never records it) and exits 1 on an HTTP
error. ``--paginate`` prints one JSON array per page, back to back, as gh does; a small
``FAKE_GH_PAGE_SIZE`` makes the scripts read several pages.

Installed by the tests as ``gh`` on PATH (a wrapper that runs this file), never imported.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

COMMENT_LIMIT = 65_536


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def typed(value: str) -> Any:
    """``-F``'s conversion of a literal: true, false, null and integers become JSON values."""
    if value in ("true", "false", "null"):
        return json.loads(value)
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def parse(argv: list[str]) -> tuple[str | None, str, dict[str, Any], bool]:
    method, path, fields, paginate = None, None, {}, False
    args = iter(argv)
    for arg in args:
        if arg in ("-X", "--method"):
            method = next(args).upper()
        elif arg == "--paginate":
            paginate = True
        elif arg in ("-F", "--field", "-f", "--raw-field"):
            key, _, value = next(args).partition("=")
            if arg in ("-F", "--field"):
                value = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else typed(value)
            if key.endswith("[]"):
                fields.setdefault(key[:-2], []).append(value)
            else:
                fields[key] = value
        elif arg.startswith("-"):
            raise SystemExit(f"fake gh: unsupported option {arg}")
        elif path is None:
            path = arg
        else:
            raise SystemExit(f"fake gh: unexpected argument {arg}")
    if path is None:
        raise SystemExit("fake gh: api needs a path")
    return method, path, fields, paginate


def handle(state: dict[str, Any], method: str, path: str, fields: dict[str, Any]) -> Any:
    """The answer to one call, changing ``state`` as GitHub would."""
    route = urlsplit(path).path.strip("/")
    match = re.fullmatch(r"repos/([^/]+/[^/]+)/issues/(\d+)/(comments|labels)(?:/([^/]+))?", route)
    if match:
        repo, number, what, name = match.groups()
        issue = state.setdefault("issues", {}).setdefault(f"{repo}#{number}", {"comments": [], "labels": []})
        if what == "comments" and name is None:
            if method == "GET":
                return issue["comments"]
            if method == "POST":
                body = _body(fields)
                state["next_id"] = state.get("next_id", 1000) + 1
                comment = {"id": state["next_id"], "body": body,
                           "user": {"login": "github-actions[bot]", "type": "Bot"}}
                issue["comments"].append(comment)
                return comment
        if what == "labels" and name is None:
            if method == "GET":
                return [{"name": label} for label in issue["labels"]]
            if method == "POST":
                for label in fields.get("labels", []):
                    if label not in issue["labels"]:
                        issue["labels"].append(label)
                return [{"name": label} for label in issue["labels"]]
        if what == "labels" and name is not None and method == "DELETE":
            label = unquote(name)
            if label not in issue["labels"]:
                raise HttpError(404, "Label does not exist")
            issue["labels"].remove(label)
            return [{"name": label} for label in issue["labels"]]
    match = re.fullmatch(r"repos/([^/]+/[^/]+)/issues/comments/(\d+)", route)
    if match and method == "PATCH":
        for issue in state.get("issues", {}).values():
            for comment in issue["comments"]:
                if comment["id"] == int(match.group(2)):
                    comment["body"] = _body(fields)
                    return comment
        raise HttpError(404, "Not Found")
    raise HttpError(404, f"fake gh does not know {method} {route}")


def _body(fields: dict[str, Any]) -> str:
    body = fields.get("body")
    if not isinstance(body, str) or not body:
        raise HttpError(422, "Validation Failed: body is missing")
    if len(body) > COMMENT_LIMIT:
        raise HttpError(422, f"Validation Failed: body is too long (maximum is {COMMENT_LIMIT} characters)")
    return body


def main(argv: list[str]) -> int:
    if not os.environ.get("GH_TOKEN"):
        print("gh: set the GH_TOKEN environment variable to use gh in a workflow", file=sys.stderr)
        return 4
    if argv[:1] != ["api"]:
        print(f"fake gh: only `gh api` is faked, not {argv[:1]}", file=sys.stderr)
        return 2
    method, path, fields, paginate = parse(argv[1:])
    method = method or ("POST" if fields else "GET")
    state_file, log_file = Path(os.environ["FAKE_GH_STATE"]), Path(os.environ["FAKE_GH_LOG"])
    state = json.loads(state_file.read_text(encoding="utf-8")) if state_file.exists() else {}
    entry: dict[str, Any] = {"argv": argv, "method": method, "path": path, "fields": fields}
    try:
        answer = handle(state, method, path, fields)
    except HttpError as exc:
        entry["status"] = exc.status
        print(f"gh: {exc.message} (HTTP {exc.status})", file=sys.stderr)
        code = 1
    else:
        entry["status"] = 200
        state_file.write_text(json.dumps(state, indent=1), encoding="utf-8")
        size = int(os.environ.get("FAKE_GH_PAGE_SIZE", "100"))
        if paginate and isinstance(answer, list):
            pages = [answer[i:i + size] for i in range(0, len(answer), size)] or [[]]
            entry["pages"] = len(pages)
            sys.stdout.write("".join(json.dumps(page) for page in pages) + "\n")
        else:
            sys.stdout.write(json.dumps(answer) + "\n")
        code = 0
    with log_file.open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
