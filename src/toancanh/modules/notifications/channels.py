"""Notification routes at work: which routes an event matches, who hears about it, and what they read.

A route matches an event when it is active, its pattern matches the subject, the event happened in the
route's unit subtree and domain, its category (an alert's `category`, an incident's `type`) is one of the
route's categories when it names any ("fire" covers "fire.kitchen"), and the event's severity (CAP: minor <
moderate < severe < extreme) is at least the route's minimum; an event without a severity matches only
routes whose minimum is minor.
Recipients are the holders of the route's roles over the event's unit and domain (`role_holders`), the
route's users, and its extra addresses; a user is reached at their e-mail or mobile number.

The message: "[Nghiêm trọng] <title_vi> - <place>" and the public link; SMS gets it without diacritics and
short, Zalo and e-mail with them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.auth.models import Grant, User
from toancanh.core.auth.service import role_holders
from toancanh.core.bus import Event, subject_matches
from toancanh.core.units import Unit
from toancanh.core.worktime import VN_TZ
from toancanh.modules.notifications import addresses, routing
from toancanh.modules.notifications.models import NotificationRoute

log = logging.getLogger("toancanh.notifications")

SEVERITY_RANK = {"minor": 1, "moderate": 2, "severe": 3, "extreme": 4}
SEVERITY_VI = {
    "minor": "Nhẹ",
    "moderate": "Trung bình",
    "severe": "Nghiêm trọng",
    "extreme": "Cực kỳ nghiêm trọng",
}
SMS_LENGTH = 160
MAX_RECIPIENTS = routing.MAX_RECIPIENTS
ALERTS = "toancanh.alerts."


@dataclass(frozen=True)
class Message:
    """What a route's recipients are told about one event."""

    title: str  # Vietnamese, with diacritics
    severity: str = ""  # CAP word, or ""
    place: str = ""
    url: str = ""  # the page about it (public URL + path), or ""
    at: str = ""  # when, in Vietnam's time ("14:05 23/11/2026")

    def line(self) -> str:
        """One line with diacritics: "[Nghiêm trọng] Cháy bếp ăn - Xã Đại Thanh"."""
        sev = SEVERITY_VI.get(self.severity)
        head = f"[{sev}] " if sev else ""
        tail = f" - {self.place}" if self.place and self.place not in self.title else ""
        return f"{head}{self.title}{tail}"

    def sms(self) -> str:
        """The line without diacritics, cut so that with the link it stays within one SMS when it can."""
        text = " ".join(addresses.without_diacritics(self.line()).split())
        if not self.url:
            return text[:SMS_LENGTH]
        room = max(40, SMS_LENGTH - len(self.url) - 1)
        if len(text) > room:
            text = text[: room - 3].rstrip() + "..."
        return f"{text} {self.url}"

    def email(self, to: str, site_name: str) -> routing.Email:
        sev = SEVERITY_VI.get(self.severity)
        subject = f"[{site_name}] {sev + ': ' if sev else ''}{self.title}"
        lines = [self.line(), ""]
        if sev:
            lines.append(f"Mức độ: {sev}")
        if self.place:
            lines.append(f"Địa điểm: {self.place}")
        if self.at:
            lines.append(f"Thời điểm: {self.at}")
        if self.url:
            lines.append(f"Xem chi tiết: {self.url}")
        lines += ["", site_name, "(Thư gửi tự động, vui lòng không trả lời thư này.)"]
        return routing.Email(to=to, subject=" ".join(subject.split())[:200], body="\n".join(lines) + "\n")


@dataclass(frozen=True)
class Recipient:
    channel: str
    address: str  # normalized; "" when the user has no address for this channel
    user: str = ""  # the username, for a user's address


@dataclass(frozen=True)
class Planned:
    """One message to send: the channel, the address, and its text in that channel's form."""

    channel: str
    address: str
    text: str = ""  # SMS / Zalo
    link: str = ""
    email: routing.Email | None = None


# ------------------------------------------------------------------------------------------ matching


def severity_of(event: Event) -> str:
    value = event.data.get("severity")
    return value.strip().lower() if isinstance(value, str) else ""


def route_matches(route: NotificationRoute, route_unit_path: str | None, event: Event) -> bool:
    """Whether `route` (whose unit has `route_unit_path`) wants to hear about `event`."""
    if not route.active or not subject_matches(route.pattern, event.subject):
        return False
    if route.unit_id is not None and (
        route_unit_path is None or not (event.unit_path or "").startswith(route_unit_path)
    ):
        return False
    if route.domain is not None and route.domain != event.domain:
        return False
    if route.categories and not _in_categories(event, route.categories):
        return False
    least = SEVERITY_RANK.get(route.min_severity, SEVERITY_RANK["severe"])
    return SEVERITY_RANK.get(severity_of(event), 0) >= least or least == SEVERITY_RANK["minor"]


def _in_categories(event: Event, categories: list[Any]) -> bool:
    value = event.data.get("category") or event.data.get("type")
    if not isinstance(value, str) or not value:
        return False
    value = value.lower()
    return any(value == c or value.startswith(f"{c}.") for c in categories if isinstance(c, str))


def matching_routes(db: Session, event: Event) -> list[NotificationRoute]:
    rows = db.execute(
        select(NotificationRoute, Unit.path)
        .outerjoin(Unit, Unit.id == NotificationRoute.unit_id)
        .where(NotificationRoute.active.is_(True))
        .order_by(NotificationRoute.id)
    ).tuples()
    out = []
    for route, path in rows:
        try:
            if route_matches(route, path, event):
                out.append(route)
        except ValueError:
            log.warning("notification route %s has an invalid pattern %r", route.id, route.pattern)
    return out


# ------------------------------------------------------------------------------------------ recipients


def _holders_anywhere(db: Session, role: str, domain: str | None) -> list[User]:
    """Every active holder of `role`, in any unit (a test message of a route for every unit)."""
    rows = db.execute(
        select(User, Grant.domains)
        .join(Grant, Grant.user_id == User.id)
        .where(Grant.role == role, User.active.is_(True))
        .order_by(User.id)
        .limit(MAX_RECIPIENTS)
    ).tuples()
    return [u for u, domains in rows if domain is None or domains is None or domain in domains]


def _users(
    db: Session, route: NotificationRoute, unit_id: int | None, domain: str | None, anywhere: bool
) -> list[User]:
    found: dict[int, User] = {}
    for role in route.roles or []:
        if anywhere:
            holders = _holders_anywhere(db, str(role), domain)
        else:
            holders = role_holders(db, str(role), unit_id or 0, domain)
        for user in holders:
            found.setdefault(user.id, user)
    ids = [i for i in (routing.as_id(v) for v in route.user_ids or []) if i is not None and i not in found]
    if ids:
        for user in db.scalars(select(User).where(User.id.in_(ids), User.active.is_(True))):
            found.setdefault(user.id, user)
    return [u for _, u in sorted(found.items()) if not u.is_service][:MAX_RECIPIENTS]


def _address(channel: str, raw: str) -> str:
    try:
        return addresses.normalize(channel, raw or "")
    except addresses.AddressError:
        return ""


def recipients(
    db: Session, route: NotificationRoute, unit_id: int | None, domain: str | None, *, anywhere: bool = False
) -> list[Recipient]:
    """Who `route` reaches for an event in `unit_id` and `domain`, one entry per channel and address
    (`anywhere`: the role holders of every unit, for a test message of a route without a unit).

    A user without an address for a channel is listed with an empty address (a test message reports it)."""
    channels = [c for c in addresses.CHANNELS if c in (route.channels or [])]
    out: list[Recipient] = []
    seen: set[tuple[str, str]] = set()

    def add(r: Recipient) -> None:
        if r.address and (r.channel, r.address) in seen:
            return
        seen.add((r.channel, r.address))
        out.append(r)

    for user in _users(db, route, unit_id, domain, anywhere):
        for channel in channels:
            raw = user.email if channel == "email" else user.phone
            add(Recipient(channel, _address(channel, raw), user.username))
    for item in route.extra or []:
        if not isinstance(item, dict) or item.get("channel") not in channels:
            continue
        address = _address(str(item["channel"]), str(item.get("address", "")))
        if address:
            add(Recipient(str(item["channel"]), address))
    return out


# ------------------------------------------------------------------------------------------ messages


def _text(value: Any, limit: int = 300) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


def link_of(event: Event) -> str:
    """The page an event's message points to: the data's own link, else the alert's incident or console."""
    link = routing.link_of(event)
    if link or not event.subject.startswith(ALERTS):
        return link
    incident = routing.as_id(event.data.get("incident_id"))
    return f"/alerts/incidents/{incident}" if incident is not None else "/alerts/console"


def message_of(db: Session, event: Event, public_url: str) -> Message:
    data = event.data
    title = next((t for t in (_text(data.get(k)) for k in ("title_vi", "title", "headline")) if t), "")
    title = title or event.subject
    place = _text(data.get("place"), 120) or _text(data.get("unit_name"), 120)
    if not place and event.unit_id is not None:
        place = db.scalar(select(Unit.name).where(Unit.id == event.unit_id)) or ""
    link = link_of(event)
    url = f"{public_url.rstrip('/')}{link}" if link else public_url.rstrip("/")
    at = event.at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
    return Message(title=title, severity=severity_of(event), place=place, url=url, at=at)


def planned(message: Message, recipient: Recipient, site_name: str) -> Planned:
    if recipient.channel == "email":
        return Planned("email", recipient.address, email=message.email(recipient.address, site_name))
    text = message.sms() if recipient.channel == "sms" else message.line()
    return Planned(recipient.channel, recipient.address, text=text, link=message.url)


def plan(
    db: Session, event: Event, channels_on: Iterable[str], site_name: str, public_url: str
) -> list[Planned]:
    """The messages the routes send about `event`, over the channels that are on; each address once."""
    on = set(channels_on)
    if not on:
        return []
    routes = matching_routes(db, event)
    if not routes:
        return []
    message = message_of(db, event, public_url)
    out: list[Planned] = []
    seen: set[tuple[str, str]] = set()
    for route in routes:
        try:
            found = recipients(db, route, event.unit_id, event.domain)
        except Exception:  # one broken route must not silence the others
            log.exception("recipients of notification route %s for event %s failed", route.id, event.id)
            continue
        for r in found:
            if r.address and r.channel in on and (r.channel, r.address) not in seen:
                seen.add((r.channel, r.address))
                out.append(planned(message, r, site_name))
    return out[:MAX_RECIPIENTS]
