"""Opening the journal and history database, with one clear line when it cannot be used.

A state database that is garbage, a directory, read-only, or named by an empty
``SHARINGTOOLS_STATE_DB`` is found here, before any request, rather than as an sqlite3
traceback halfway through a run.
"""

from __future__ import annotations

import os
import sqlite3

from orchestrator.state.history import History


class StateDbError(Exception):
    """The journal and history database cannot be opened or written (one line, what to do)."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        name = os.fspath(path).strip()
        super().__init__(f"the state database {name if name not in ('', '.') else '(empty path)'} cannot be used "
                         f"({reason}): point --state-db or SHARINGTOOLS_STATE_DB at a writable SQLite file")


def open_history(path: str | os.PathLike[str]) -> History:
    """The history at ``path``, checked writable; `StateDbError` says why not."""
    if os.fspath(path).strip() in ("", "."):
        raise StateDbError(path, "the path is empty")
    if os.path.isdir(path):
        raise StateDbError(path, "it is a directory")
    try:
        history = History(os.fspath(path))
    except (sqlite3.Error, OSError) as exc:
        raise StateDbError(path, _reason(exc)) from None
    try:  # take and release the write lock: a read-only file or directory fails here, not mid-run
        history.db.execute("BEGIN IMMEDIATE")
        history.db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        history.close()
        raise StateDbError(path, _reason(exc)) from None
    return history


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)
