"""NGSI-LD errors as ProblemDetails (RFC 7807), with the error types of ETSI GS CIM 009 and their statuses."""

from __future__ import annotations

from typing import Any

from toancanh.core.errors import AppError

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"

# error type -> (HTTP status, title)
TYPES: dict[str, tuple[int, str]] = {
    "InvalidRequest": (400, "Invalid request"),
    "BadRequestData": (400, "Bad request data"),
    "AlreadyExists": (409, "Already exists"),
    "OperationNotSupported": (422, "Operation not supported"),
    "ResourceNotFound": (404, "Resource not found"),
    "InternalError": (500, "Internal error"),
    "TooComplexQuery": (403, "Too complex query"),
    "TooManyResults": (403, "Too many results"),
    "LdContextNotAvailable": (503, "LD context not available"),
    "UnsupportedMediaType": (415, "Unsupported media type"),
    "NotAcceptable": (406, "Not acceptable"),
    "Unauthorized": (401, "Unauthorized"),
    "Forbidden": (403, "Forbidden"),
}


class NgsiError(AppError):
    """An NGSI-LD error: the body is a ProblemDetails object, not the house error envelope."""

    def __init__(self, kind: str, detail: str, *, status: int | None = None) -> None:
        code, title = TYPES[kind]
        super().__init__(detail, detail, code=kind)
        self.kind = kind
        self.status = status or code
        self.title = title
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"type": ERRORS + self.kind, "title": self.title, "detail": self.detail}


def bad_data(detail: str) -> NgsiError:
    return NgsiError("BadRequestData", detail)


def invalid(detail: str) -> NgsiError:
    return NgsiError("InvalidRequest", detail)


def not_found(detail: str) -> NgsiError:
    return NgsiError("ResourceNotFound", detail)
