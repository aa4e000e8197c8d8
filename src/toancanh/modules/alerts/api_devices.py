"""Device credentials over HTTP (thông tin đăng nhập thiết bị): issue or rotate, disable, list.

Every call needs `devices.manage` over the device's unit and domain. The secret comes back once, in the
answer to the POST; the broker learns it when its files are written again (`toancanh mqtt broker-files`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.assets import Asset
from toancanh.core.auth.scope import Principal, get_scoped, scoped, unit_path_of
from toancanh.modules.alerts import devices
from toancanh.modules.alerts.models import DeviceCredential

KINDS = ("readings", "heartbeat", "alarm", "status")  # docs/mqtt.md
router = APIRouter(prefix="/api/v1/alerts/devices", tags=["devices"])


class CredentialsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    heartbeat_s: int = Field(300, ge=devices.HEARTBEAT_MIN_S, le=devices.HEARTBEAT_MAX_S)
    rotate: bool = False  # replace an enabled credential's secret


def _managed_asset(db: Any, principal: Principal, asset_id: int) -> Asset:
    """The asset if the caller may see it (else 404) and manage its devices (else 403)."""
    asset = get_scoped(db, principal, Asset, asset_id, "assets.read")
    principal.require("devices.manage", unit_path_of(db, asset.unit_id), asset.domain)
    return asset


@router.get("")
def list_devices(db: SessionDep, principal: CurrentPrincipal, limit: int = 1000) -> list[dict[str, Any]]:
    """Devices with credentials that the caller manages: login, heartbeat interval, status, last seen."""
    limit = max(1, min(limit, 5000))
    query: Any = select(DeviceCredential, Asset).join(Asset, Asset.id == DeviceCredential.asset_id)
    stmt = scoped(query, principal, Asset, "devices.manage")
    rows = db.execute(stmt.order_by(Asset.code).limit(limit)).tuples()
    return [devices.credential_summary(cred, asset) for cred, asset in rows]


@router.post("/{asset_id}/credentials", status_code=201)
def issue(
    asset_id: DbId, body: CredentialsIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Issue (or with `rotate`, replace) a device's MQTT login; the password is in this answer only."""
    asset = _managed_asset(db, principal, asset_id)
    username, secret = devices.issue_credentials(
        db, asset, body.heartbeat_s, rotate=body.rotate, principal=principal
    )
    prefix = request.app.state.settings.mqtt_topic_prefix.strip("/")
    cred = devices.credential_of(db, asset)
    assert cred is not None
    return {
        **devices.credential_summary(cred, asset),
        "password": secret,
        "topics": {
            kind: f"{prefix}/{username}/{kind}" for kind in ("readings", "heartbeat", "alarm", "status")
        },
        "note_vi": "Mật khẩu chỉ hiện một lần. Broker nhận mật khẩu mới khi các tệp của nó được ghi lại.",
        "note_en": "The password is shown only once. The broker learns it when its files are written again.",
    }


@router.delete("/{asset_id}/credentials")
def disable(asset_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Disable a device's login: the IOC ignores it within 30 s, the broker after its next reload."""
    asset = _managed_asset(db, principal, asset_id)
    cred = devices.disable_credentials(db, asset, principal=principal)
    return devices.credential_summary(cred, asset)
