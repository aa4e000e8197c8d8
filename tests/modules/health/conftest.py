"""Health test helpers: health-sector users beside the shared world, and small record builders."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from toancanh.core.db import utcnow

# who: (role, unit code, domains): health-sector grants see personal data
HEALTH_USERS: dict[str, tuple[str, str | None, list[str] | None]] = {
    "cdc_a": ("agency_staff", "00664", ["health"]),  # trạm y tế xã A
    "cdc_prov": ("agency_staff", "01", ["health"]),  # CDC tỉnh
    "cdc_hamlet": ("agency_staff", "0066401", ["health"]),
    "health_op_b": ("operator", "00070", ["health", "security"]),
    "leader_health": ("leader", "01", ["health"]),
}

TODAY = date.today()
LAST_MONDAY = TODAY - timedelta(days=TODAY.isoweekday() - 1 + 7)  # the Monday of the last full ISO week


@pytest.fixture
def hworld(world: Any, db: Any) -> Any:
    from toancanh.core.auth.service import create_user, open_session

    with db.session() as s:
        for who, (role, unit_code, domains) in HEALTH_USERS.items():
            user = create_user(s, who, f"{who}-password", role=role, unit_code=unit_code, domains=domains)
            world.users[who] = user
            world.tokens[who], _ = open_session(s, user, kind="token", hours=1, now=utcnow())
        from toancanh.core.units import Unit

        # populations for the rates: A 25,000 people, B 10,000, hamlet H1 5,000
        s.get(Unit, world.units["A"].id).population = 25_000
        s.get(Unit, world.units["B"].id).population = 10_000
        s.get(Unit, world.units["H1"].id).population = 5_000  # H2 has none: no rate, flagged
    return world


def case_body(world: Any, code: str, unit: str = "A", **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "unit_id": world.units[unit].id,
        "code": code,
        "full_name": f"Nguyễn Văn {code}",
        "birth_year": 1980,
        "sex": "male",
        "phone": "0912345678",
        "address": f"Số {len(code)} đường Làng",
        "lat": 20.9123,
        "lon": 105.8123,
        "confirmed_on": LAST_MONDAY.isoformat(),
    }
    body.update(kw)
    return body


def post(client: Any, world: Any, who: str, register: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/health/{register}", json=body, headers=world.auth(who))
