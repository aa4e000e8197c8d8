"""Shapes of NGSI-LD payloads that the broker builds (its requests are parsed by representation.py)."""

from __future__ import annotations

from typing import Any, TypedDict


class NotUpdated(TypedDict):
    attributeName: str
    reason: str


class UpdateResult(TypedDict):
    updated: list[str]
    notUpdated: list[NotUpdated]


class BatchError(TypedDict):
    entityId: str
    error: dict[str, Any]


class BatchOperationResult(TypedDict):
    success: list[str]
    errors: list[BatchError]
