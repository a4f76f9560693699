"""Domain errors of the emulated API, each carrying the HTTP status and message the reference documents.

    ApiError
     ├── BadRequest            400  malformed JSON or missing required field
     ├── Unauthorized          401  "Unauthorized": missing or malformed Authorization header
     ├── InvalidApiKey         401  "Invalid API key": unknown or revoked key
     ├── ModuleNotEnabled      403  "Module not enabled": the user's plan lacks the module
     ├── AdminRequired         403  "Admin access required"
     ├── NotFound              404  missing, or another user's resource
     ├── Conflict              409  duplicate resource
     ├── ValidationFailed      422  field-level ``errors``
     ├── ModuleNotInstalled    503  the module's plugin is not installed
     └── InjectedFault         any  raised by the fault injector (429, 5xx)

Models raise these; the app's exception handler turns them into the envelope.
"""

from __future__ import annotations


class ApiError(Exception):
    status: int = 500
    default_message: str = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.errors = errors
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(ApiError):
    status = 400
    default_message = "Malformed JSON or missing required field"


class Unauthorized(ApiError):
    status = 401
    default_message = "Unauthorized"


class InvalidApiKey(ApiError):
    status = 401
    default_message = "Invalid API key"


class ModuleNotEnabled(ApiError):
    status = 403
    default_message = "Module not enabled"


class AdminRequired(ApiError):
    status = 403
    default_message = "Admin access required"


class NotFound(ApiError):
    status = 404
    default_message = "Not found"


class Conflict(ApiError):
    status = 409
    default_message = "Resource already exists"


class ValidationFailed(ApiError):
    status = 422
    default_message = "Validation failed"

    def __init__(self, errors: dict[str, list[str]] | dict[str, str], message: str | None = None):
        normalised = {k: v if isinstance(v, list) else [v] for k, v in errors.items()}
        super().__init__(message, errors=normalised)


class ModuleNotInstalled(ApiError):
    status = 503
    default_message = "Module not installed"


class InjectedFault(ApiError):
    """An error the fault injector answers with instead of running the handler."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message, headers=headers)
        self.status = status
