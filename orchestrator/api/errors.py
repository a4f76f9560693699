"""Errors the client raises. Each carries the method, the path and the status, never the key.

    SharingtoolsError
     ├── ClientConfigError        bad configuration, found before any request (key format, http://)
     └── ApiError                 a call failed (method, path, status)
          ├── TransportError      no HTTP answer: connection refused or dropped, timeout
          └── ResponseError       the server answered with an error
               ├── BadRequest           400
               ├── Unauthorized         401 "Unauthorized" (missing or malformed header)
               ├── InvalidApiKey        401 "Invalid API key" (unknown or revoked)
               ├── ModuleNotEnabled     403 "Module not enabled"
               ├── AdminRequired        403 "Admin access required"
               ├── NotFound             404
               ├── Conflict             409
               ├── ValidationFailed     422, with field-level ``errors``
               ├── RateLimited          429, with ``retry_after``
               ├── ModuleNotInstalled   503 naming a module or plugin
               ├── ServerError          other 5xx (and 202 "try again later")
               └── UnexpectedAnswer     an answer that is not the API's (HTML, empty, cut off, no
                                        envelope, ``data`` or a list page of the wrong shape)
"""

from __future__ import annotations

from typing import Any


class SharingtoolsError(Exception):
    """Base of every error this package raises."""


class ClientConfigError(SharingtoolsError):
    """The client cannot be used as configured; nothing was sent."""


class ApiError(SharingtoolsError):
    def __init__(self, message: str, *, method: str, path: str, status: int | None = None) -> None:
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        where = f"{method} {path}"
        super().__init__(f"{where}: {status} {message}" if status else f"{where}: {message}")


class TransportError(ApiError):
    """No HTTP answer arrived. ``maybe_applied`` is True when the request may have reached the server.

    ``unsettled``: the attempt timed out waiting for the answer, so the server may still be
    working on the request and apply it later (a read-back now cannot tell). ``in_doubt``: a
    create's read-back after such an attempt found nothing; it is not sent again (it may yet
    take effect), and whoever made the call must treat it as in doubt."""

    def __init__(self, message: str, *, method: str, path: str, maybe_applied: bool, unsettled: bool = False) -> None:
        super().__init__(message, method=method, path=path)
        self.maybe_applied = maybe_applied
        self.unsettled = unsettled
        self.in_doubt = False


class ResponseError(ApiError):
    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int,
        errors: dict[str, Any] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, method=method, path=path, status=status)
        self.errors = errors or {}
        self.body = body


class BadRequest(ResponseError):
    pass


class Unauthorized(ResponseError):
    pass


class InvalidApiKey(ResponseError):
    pass


class ModuleNotEnabled(ResponseError):
    pass


class AdminRequired(ResponseError):
    pass


class NotFound(ResponseError):
    pass


class Conflict(ResponseError):
    pass


class ValidationFailed(ResponseError):
    def __str__(self) -> str:
        detail = "; ".join(
            f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in self.errors.items()
        )
        return f"{super().__str__()} ({detail})" if detail else super().__str__()


class RateLimited(ResponseError):
    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class ModuleNotInstalled(ResponseError):
    pass


class ServerError(ResponseError):
    pass


class UnexpectedAnswer(ResponseError):
    """An answer that is not the documented one, so it says nothing about the installation.

    A maintenance page with status 200, an empty body, JSON cut off on its way, an envelope
    without ``data``, a ``data`` or a list page of another shape than the API's, pages of one
    list that disagree on its ``total``: reading any of these as data would read "nothing
    there" (no accounts, no captions, no schedule) and plan to create it all again. The
    client raises this instead, with ``cause`` saying in words what came back.

    ``transient`` is True for what a gateway or a maintenance window sends (an HTML page, an
    empty or a cut-off body): retried like a 503 within the call's retry budget, then a
    failure. A well-formed answer of the wrong shape is the server's own, and is not retried.
    ``str()`` names the request, the page and the status, and never the key or a value read
    (a value may hold a proxy's password): ``cause`` describes shapes, not contents.
    """

    def __init__(self, cause: str, *, method: str, path: str, status: int, page: int | None = None,
                 transient: bool = False, body: Any = None) -> None:
        super().__init__(cause, method=method, path=path, status=status, body=body)
        self.cause = cause
        self.page = page
        self.transient = transient

    def __str__(self) -> str:
        where = f" page {self.page}" if self.page is not None else ""
        return f"{self.method} /{self.path.lstrip('/')}{where} answered {self.status} with {self.cause}"


def classify(status: int, message: str) -> type[ResponseError]:
    """The error class for an error answer, by status and (where one status has two meanings) message."""
    lowered = message.lower()
    if status == 401:
        return InvalidApiKey if "invalid" in lowered else Unauthorized
    if status == 403:
        return AdminRequired if "admin" in lowered else ModuleNotEnabled
    if status == 503 and ("module" in lowered or "plugin" in lowered):
        return ModuleNotInstalled
    return {400: BadRequest, 404: NotFound, 409: Conflict, 422: ValidationFailed, 429: RateLimited}.get(
        status, ServerError if status >= 500 or status == 202 else BadRequest
    )


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions an exception group holds, flattened in order (``[exc]`` for a plain one).

    Task groups wrap what their tasks raise; the one place that unwraps them, for the
    planner (a read that stops the run), the command line (the failure to tell) and the
    reconcile loop (an API error that fails a cycle)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]
