"""One error model for every endpoint: `{"error": {"code", "message", "message_en", "details"}}`.

Errors a user can cause are raised as `AppError` subclasses with a Vietnamese and an English message;
they change nothing because the request's transaction is rolled back.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, message_en: str = "", *, details: Any = None, code: str | None = None):
        super().__init__(message_en or message)
        self.message = message
        self.message_en = message_en or message
        self.details = details
        if code:
            self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.message_en, self.details)


def error_body(code: str, message: str, message_en: str, details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message, "message_en": message_en}
    if details is not None:
        err["details"] = details
    return {"error": err}


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"

    def __init__(
        self, message: str = "Cần đăng nhập", message_en: str = "Authentication required", **kw: Any
    ):
        super().__init__(message, message_en, **kw)


class Forbidden(AppError):
    status = 403
    code = "forbidden"

    def __init__(self, message: str = "Không có quyền", message_en: str = "Permission denied", **kw: Any):
        super().__init__(message, message_en, **kw)


class NotFound(AppError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "Không tìm thấy", message_en: str = "Not found", **kw: Any):
        super().__init__(message, message_en, **kw)


class Conflict(AppError):
    status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class Unprocessable(AppError):
    status = 422
    code = "validation_error"


class TooManyRequests(AppError):
    status = 429
    code = "too_many_requests"


class ServiceUnavailable(AppError):
    status = 503
    code = "unavailable"
