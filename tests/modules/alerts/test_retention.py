"""Retention of events and of footage held as evidence by open incidents and alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.modules.alerts.test_incidents import open_incident
from toancanh.core.db import utcnow
from toancanh.core.files import Blob, BlobStore
from toancanh.core.retention import module_rules, purge
from toancanh.modules.alerts.models import Alert, Event, Incident, IncidentAttachment


def _event(s: Any, world: Any, at: Any, ref: str) -> Event:
    e = Event(
        at=at,
        source="sensor",
        source_ref=ref,
        domain="security",
        category="fire.smoke",
        title="Báo khói",
        unit_id=world.units["A"].id,
    )
    s.add(e)
    s.flush()
    return e


def _alert(s: Any, world: Any, event: Event, status: str, incident_id: int | None = None, **kw: Any) -> None:
    now = utcnow()
    s.add(
        Alert(
            dedup_key=f"k{event.id}",
            event_id=event.id,
            domain="security",
            category="fire.smoke",
            severity="severe",
            title="Báo khói",
            first_at=now,
            last_at=now,
            status=status,
            unit_id=world.units["A"].id,
            incident_id=incident_id,
            **kw,
        )
    )


def test_old_events_go_unless_an_open_alert_still_points_at_them(client: Any, world: Any, db: Any) -> None:
    old, recent = utcnow() - timedelta(days=400), utcnow() - timedelta(days=2)
    with db.session() as s:
        gone = _event(s, world, old, "a")
        kept_by_alert = _event(s, world, old, "b")
        resolved = _event(s, world, old, "c")
        fresh = _event(s, world, recent, "d")
        _alert(s, world, kept_by_alert, "active")
        _alert(s, world, resolved, "resolved")
    rules, holds = module_rules(client.app.state.modules)
    results = purge(db, client.app.state.settings, rules, holds, kinds=["events"])
    assert {r.name: r.removed for r in results}["events"] == 2
    with db.session() as s:
        left = set(s.scalars(select(Event.id)))
    assert left == {kept_by_alert.id, fresh.id}
    assert gone.id not in left and resolved.id not in left


def _clip(store: BlobStore, s: Any, tag: bytes) -> str:
    sha = store.put(s, b"\x00\x00\x00\x18ftypmp42" + tag * 30).sha256
    blob = s.get(Blob, sha)
    blob.created_at = utcnow() - timedelta(days=200)
    return sha


def test_footage_of_open_incidents_and_active_alerts_is_held(client: Any, world: Any, db: Any) -> None:
    store = client.app.state.blobs
    open_id = open_incident(db, client.app.state.workflow, world)
    closed_id = open_incident(db, client.app.state.workflow, world)
    with db.session() as s:
        attached, closed_clip, alert_clip, loose = (_clip(store, s, t) for t in (b"a", b"b", b"c", b"d"))
        for iid, sha in ((open_id, attached), (closed_id, closed_clip)):
            s.add(
                IncidentAttachment(
                    incident_id=iid, blob_key=sha, filename="clip.mp4", content_type="video/mp4", size=1
                )
            )
        incident = s.get(Incident, closed_id)
        incident.state = "closed"
        ev = _event(s, world, utcnow(), "clip-event")
        _alert(s, world, ev, "active", evidence=[{"kind": "clip", "ref": alert_clip, "label": "Clip"}])
    rules, holds = module_rules(client.app.state.modules)
    [res] = purge(db, client.app.state.settings, rules, holds, kinds=["footage"])
    assert res.removed == 2
    with db.session() as s:
        left = set(s.scalars(select(Blob.sha256)))
    assert {attached, alert_clip} <= left and not ({closed_clip, loose} & left)
    assert not store.exists(loose) and store.exists(attached)
