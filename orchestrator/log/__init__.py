"""Logging set-up and secret redaction.

Redaction is one structlog processor (and one ``logging.Filter`` for the standard library,
which uvicorn and httpx log through). It removes, everywhere in an event, including
exception text and rendered tracebacks:
- every value registered with ``register_secret`` (the API key, account passwords, secret
  proxies), through one compiled pattern rebuilt only when a new value is registered;
- anything shaped like a Sharingtools key (``sht_`` + 64 hex);
- the values of keys named like secrets (authorization, x-api-key, password, api_key...).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import MutableMapping
from enum import StrEnum
from typing import Any, TextIO

MASK = "***"
KEY_SHAPE = re.compile(r"sht_[0-9a-fA-F]{8,}")
SECRET_NAMES = re.compile(r"(authorization|x-api-key|api[_-]?key|password|passwd|secret|token)", re.I)
#: ``scheme://user:pass@`` or ``user:pass@host:port``: credentials in a URL or a proxy address,
#: whoever set them (a proxy typed into the web panel comes back from the server like this).
URL_CREDENTIALS = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/@:'\"]+:[^\s/@'\"]+@"
    r"|(?<![\w.:/-])[^\s/@:'\"]+:[^\s/@'\"]+@(?=[A-Za-z0-9.-]+:\d)")


class LogLevel(StrEnum):
    """The levels ``--log-level`` accepts (anything else is refused before a command runs)."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class LogFormat(StrEnum):
    """``--log-format``: console on a terminal and JSON lines otherwise (auto), or as told."""

    AUTO = "auto"
    CONSOLE = "console"
    JSON = "json"


class SecretRegistry:
    """The secret values to mask, and one pattern that finds them all.

    A long-running process (reconcile) registers the same secrets on every plan and, over
    weeks, rotated ones: registering a known value changes nothing, the pattern is rebuilt
    only when the set changes (never per redaction), and at most ``limit`` values are kept,
    the least recently registered going first (a secret still in use is registered again on
    every plan, so what goes is one no longer used)."""

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._values: OrderedDict[str, None] = OrderedDict()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()  # standard-library logging may redact from other threads

    def add(self, value: str) -> None:
        with self._lock:
            if value in self._values:
                self._values.move_to_end(value)
                return
            self._values[value] = None
            while len(self._values) > self.limit:
                self._values.popitem(last=False)
            self._pattern = None  # rebuilt on the next redaction

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None:
            with self._lock:
                if not self._values:
                    return text
                # Longest first: where one secret contains another, the whole of it is masked.
                alternatives = sorted(self._values, key=len, reverse=True)
                pattern = self._pattern = re.compile("|".join(map(re.escape, alternatives)))
        return pattern.sub(MASK, text)


_secrets = SecretRegistry()


def register_secret(value: str | None) -> None:
    """Remember a secret value so it is masked wherever it would appear."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact_text(text: str) -> str:
    text = URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme') or ''}{MASK}@", _secrets.redact(text))
    return KEY_SHAPE.sub("sht_" + MASK, text)


def redact_value(value: Any, name: str = "") -> Any:
    if name and SECRET_NAMES.search(name) and value not in (None, "", False):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    return value


def redact_processor(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets in every field of the event."""
    for key in list(event):
        event[key] = redact_value(event[key], key if key != "event" else "")
    return event


class RedactingFilter(logging.Filter):
    """For standard-library loggers (httpx, uvicorn): mask secrets in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


#: What `configure` asked of structlog while structlog was not imported yet: applied when it is
#: (level, JSON lines or not, colours, the stream). None once applied, or never asked.
_pending: tuple[str, bool, bool, TextIO] | None = None
#: The standard library's number of the level `configure` set (None: never called).
_threshold: int | None = None
#: structlog's methods by the level they log at (what its filtering loggers drop below the level).
_METHOD_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "msg": logging.INFO, "warning": logging.WARNING,
                  "warn": logging.WARNING, "error": logging.ERROR, "exception": logging.ERROR,
                  "critical": logging.CRITICAL, "fatal": logging.CRITICAL}


def configure(level: str = "warning", fmt: str = "auto") -> None:
    """Console output on a terminal, JSON lines otherwise (or as ``fmt`` says), on stderr.

    structlog is not imported here: importing it imports its console renderer, and that rich
    (most of a tenth of a second), which a command that logs nothing should not pay. Where it
    is not imported yet, its part of the set-up is applied when a logger from `get_logger`
    first logs at this level or above."""
    global _pending, _threshold
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    _pending = (level, use_json, sys.stderr.isatty(), sys.stderr)
    _threshold = logging.getLevelName(level.upper())
    if "structlog" in sys.modules:
        _configure_structlog()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.getLevelName(level.upper()))
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    """A structlog logger named ``name``, for a module to hold from import on (the one way this
    package's modules get a logger, so that none logs before `configure`'s set-up is applied).

    structlog is imported when the logger first logs something `configure`'s level lets
    through (or at once where structlog is imported already, or `configure` never ran): a
    ``log.debug`` below the level costs nothing, as it would in structlog's filtering logger."""
    return _LazyLogger(name)


class _LazyLogger:
    """structlog's ``get_logger(name)``, asked for when it is first needed (see `get_logger`)."""

    __slots__ = ("_name", "_logger")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None:
            if ("structlog" not in sys.modules and _threshold is not None
                    and _METHOD_LEVELS.get(method, logging.CRITICAL) < _threshold):
                return _drop  # what the filtering logger `configure` asks for would do
            self._logger = _structlog_logger(self._name)
        return getattr(self._logger, method)


def _drop(*args: Any, **kwargs: Any) -> None:
    """A log call below the configured level."""


def _structlog_logger(name: str) -> Any:
    import structlog

    if _pending is not None:
        _configure_structlog()
    return structlog.get_logger(name)


#: Held while structlog is configured: loggers on other threads (the state store's, the status
#: server's) may log first at the same time, and none may log before the set-up is complete.
_setup_lock = threading.Lock()


def _configure_structlog() -> None:
    global _pending
    with _setup_lock:
        if _pending is None:  # another thread applied it meanwhile
            return
        import structlog

        level, use_json, colours, stream = _pending
        renderer: Any = (structlog.processors.JSONRenderer() if use_json
                         else structlog.dev.ConsoleRenderer(colors=colours))
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
                redact_processor,
                renderer,
            ],
            wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
            logger_factory=structlog.PrintLoggerFactory(stream),
            cache_logger_on_first_use=False,
        )
        _pending = None  # only now: a thread that finds it None finds structlog configured
