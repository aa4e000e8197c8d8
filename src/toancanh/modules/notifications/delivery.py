"""The notification worker: one durable bus subscriber that turns events into in-app notifications,
e-mails (SMTP), SMS and Zalo messages (gateways, see `gateways.py`, chosen by the notification routes of
`channels.py`) and webhook calls.

Every delivery is idempotent: a notification is unique per (user, event) and a message or webhook call per
(channel, target, event) in the delivery log, so an event the bus delivers again sends nothing twice. A
failed message or webhook call makes the handler raise once the others are done; the bus then redelivers
the event later (with its backoff) and only the failed ones are tried again, up to `MAX_ATTEMPTS`, after
which the delivery is recorded as failed. Nothing in an event, a gateway or a webhook's answer can stop the
worker: each delivery's errors are caught, logged and recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from toancanh.core import audit
from toancanh.core.bus import Event, Subscription, subject_matches
from toancanh.core.db import Database, utcnow
from toancanh.core.errors import NotFound
from toancanh.core.units import Unit
from toancanh.modules.notifications import channels, gateways, routing
from toancanh.modules.notifications.gateways import FileGateway, Gateway, GatewayError
from toancanh.modules.notifications.models import Delivery, Notification, NotificationRoute, Webhook

log = logging.getLogger("toancanh.notifications")

MAX_ATTEMPTS = 4
WEBHOOK_TIMEOUT_S = 5.0
SMTP_TIMEOUT_S = 10.0
GATEWAY_TIMEOUT_S = 30.0  # a plugin gateway that hangs longer counts as failed
TEST_SUBJECT = "toancanh.notifications.route.test"
SIGNATURE_HEADER = "X-Toancanh-Signature"


class RetryLater(RuntimeError):
    """Some deliveries of an event failed and will be tried again when the bus redelivers it."""


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=<hex HMAC-SHA256 of the body with the webhook's secret>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    user: str = ""
    password: str = ""
    starttls: bool = True


@dataclass(frozen=True)
class Job:
    delivery_id: int
    channel: str  # email | sms | zalo | webhook
    email: routing.Email | None = None
    webhook_id: int | None = None
    url: str = ""
    secret: str = ""
    to: str = ""  # sms | zalo: the address, text and link
    text: str = ""
    link: str = ""


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    ok: bool
    status: str  # HTTP status, "sent", or the error in a few words
    provider_id: str = ""


@dataclass(frozen=True)
class RecipientResult:
    """One recipient of a test message and what became of it."""

    channel: str
    to: str
    user: str
    ok: bool
    status: str


def send_email(cfg: SmtpConfig, mail: routing.Email, event_id: str) -> None:
    """Send one message (blocking: run it in a worker thread).

    The Message-ID comes from the event and the recipient, so a copy sent again is recognisably the same."""
    domain = cfg.sender.rsplit("@", 1)[-1] or "localhost"
    msg = EmailMessage()
    msg["From"] = cfg.sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = f"<{event_id}.{hashlib.sha256(mail.to.encode()).hexdigest()[:12]}@{domain}>"
    msg.set_content(mail.body)
    with smtplib.SMTP(cfg.host, cfg.port, timeout=SMTP_TIMEOUT_S) as smtp:
        if cfg.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if cfg.user:
            smtp.login(cfg.user, cfg.password)
        smtp.send_message(msg)


class Dispatcher:
    """Routes each event to its channels. `handle` is the bus handler."""

    def __init__(
        self,
        db: Database,
        *,
        smtp: SmtpConfig | None,
        site_name: str = "Toàn Cảnh",
        public_url: str = "",
        mail_file: FileGateway | None = None,
    ) -> None:
        self.db = db
        self.smtp = smtp
        self.mail_file = mail_file  # e-mails as JSON lines when there is no SMTP server (demo, offline)
        self.site_name = site_name
        self.public_url = public_url
        self.http = httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S, follow_redirects=False, trust_env=False)
        self.gateways: dict[str, Gateway] = {}
        self.gateway_errors: dict[str, str] = {}
        self.subscription: Subscription | None = None

    @classmethod
    def from_settings(cls, db: Database, settings: Any) -> Dispatcher:
        """The dispatcher with the SMTP server (or e-mail file) and the SMS and Zalo gateways configured."""
        s = settings
        smtp = None
        if s.smtp_host:
            smtp = SmtpConfig(
                s.smtp_host, s.smtp_port, s.smtp_from, s.smtp_user, s.smtp_password, s.smtp_starttls
            )
        mail_file = None
        if not smtp and s.email_file:
            mail_file = FileGateway("email", Path(s.email_file.removeprefix("file:")))
        dispatcher = cls(db, smtp=smtp, site_name=s.site_name, public_url=s.public_url, mail_file=mail_file)
        dispatcher.gateways, dispatcher.gateway_errors = gateways.build_all(s, dispatcher.http)
        for kind, error in dispatcher.gateway_errors.items():
            log.error("the %s gateway is off: %s", kind, error)
        return dispatcher

    def channels_on(self) -> set[str]:
        """The message channels that can send now."""
        on = set(self.gateways)
        if self.smtp is not None or self.mail_file is not None:
            on.add("email")
        return on

    async def close(self) -> None:
        if self.subscription is not None:
            await self.subscription.unsubscribe()
        await self.http.aclose()

    async def handle(self, event: Event) -> None:
        jobs = await asyncio.to_thread(self._plan, event)
        if not jobs:
            return
        outcomes = await self._send(jobs, event)
        retry = await asyncio.to_thread(self._record, outcomes)
        if retry:
            raise RetryLater(f"{retry} delivery(ies) of event {event.id} failed; retried on redelivery")

    # ---------------------------------------------------------------------------------- planning

    def _plan(self, event: Event) -> list[Job]:
        with self.db.session() as s:
            try:
                self._in_app(s, event)
            except Exception:
                log.exception("in-app notifications of event %s (%s) failed", event.id, event.subject)
                s.rollback()
        with self.db.session() as s:
            wanted: list[tuple[str, str, dict[str, Any]]] = []
            if "email" in self.channels_on():
                try:
                    mails = routing.report_emails(s, event, self.site_name, self.public_url)
                except Exception:
                    log.exception("e-mail routing of event %s (%s) failed", event.id, event.subject)
                    mails = []
                wanted += [("email", m.to, {"email": m}) for m in mails]
            for hook in self._webhooks(s, event):
                wanted.append(
                    (
                        "webhook",
                        f"webhook:{hook.id}",
                        {"webhook_id": hook.id, "url": hook.url, "secret": hook.secret},
                    )
                )
            try:
                routed = channels.plan(s, event, self.channels_on(), self.site_name, self.public_url)
            except Exception:
                log.exception("notification routes of event %s (%s) failed", event.id, event.subject)
                s.rollback()
                routed = []
            wanted += [(p.channel, p.address, _job_fields(p)) for p in routed]
            if not wanted:
                return []
            try:
                return self._claim(s, event, wanted)
            except IntegrityError:
                # Another worker claimed the same deliveries at the same moment: let the bus try later.
                s.rollback()
                raise

    def _in_app(self, s: Session, event: Event) -> None:
        users = routing.in_app_recipients(s, event)
        if not users:
            return
        done = set(
            s.scalars(
                select(Notification.user_id).where(
                    Notification.event_id == event.id, Notification.user_id.in_(users)
                )
            )
        )
        data = event.data
        title_vi = str(data.get("title_vi") or event.subject)[:300]
        title_en = str(data.get("title_en") or title_vi)[:300]
        body = data.get("body")
        for user_id in sorted(users - done):
            s.add(
                Notification(
                    user_id=user_id,
                    title_vi=title_vi,
                    title_en=title_en,
                    body=body[:2000] if isinstance(body, str) else "",
                    link=routing.link_of(event),
                    event_subject=event.subject,
                    event_id=event.id,
                    created_at=utcnow(),
                )
            )

    def _webhooks(self, s: Session, event: Event) -> list[Webhook]:
        rows = s.execute(
            select(Webhook, Unit.path)
            .outerjoin(Unit, Unit.id == Webhook.unit_id)
            .where(Webhook.active.is_(True))
        ).tuples()
        out = []
        for hook, path in rows:
            try:
                matches = subject_matches(hook.pattern, event.subject)
            except ValueError:
                log.warning("webhook %s has an invalid pattern %r", hook.id, hook.pattern)
                continue
            if hook.unit_id is not None and (path is None or not (event.unit_path or "").startswith(path)):
                continue
            if matches:
                out.append(hook)
        return out

    def _claim(self, s: Session, event: Event, wanted: list[tuple[str, str, dict[str, Any]]]) -> list[Job]:
        existing = {
            (d.channel, d.target): d for d in s.scalars(select(Delivery).where(Delivery.event_id == event.id))
        }
        jobs = []
        claimed: set[tuple[str, str]] = set()
        for channel, target, extra in wanted:
            if (channel, target) in claimed:
                continue  # the same address twice (a citizen's e-mail and a route's): one message
            claimed.add((channel, target))
            row = existing.get((channel, target))
            if row is None:
                row = Delivery(channel=channel, target=target[:200], event_id=event.id, subject=event.subject)
                s.add(row)
                s.flush()
                existing[(channel, target)] = row
            if row.status in ("sent", "failed"):
                continue  # done, or given up on: a redelivered event sends nothing twice
            jobs.append(Job(delivery_id=row.id, channel=channel, **extra))
        return jobs

    # ---------------------------------------------------------------------------------- sending

    async def _send(self, jobs: list[Job], event: Event) -> list[Outcome]:
        body = b""
        if any(job.channel == "webhook" for job in jobs):
            try:
                body = event.to_json()
            except (TypeError, ValueError) as exc:
                log.error("event %s (%s) cannot be written as JSON: %s", event.id, event.subject, exc)
        return list(await asyncio.gather(*(self._run(job, event, body) for job in jobs)))

    async def _run(self, job: Job, event: Event, body: bytes) -> Outcome:
        try:
            if job.channel == "email":
                return await self._mail(job, event)
            if job.channel == "webhook":
                if not body:
                    raise ValueError("the event cannot be written as JSON")
                return await self._post(job, event, body)
            gateway = self.gateways.get(job.channel)
            if gateway is None:
                raise GatewayError(f"the {job.channel} gateway is not configured")
            ref = f"tc{job.delivery_id}.{event.id[:24]}"  # the same on a retry: the provider may deduplicate
            sent = gateway.send(job.to, job.text, ref=ref, link=job.link)
            provider_id = await asyncio.wait_for(sent, timeout=GATEWAY_TIMEOUT_S)
            return Outcome(job.delivery_id, True, "sent", str(provider_id or "")[:120])
        except Exception as exc:
            log.warning(
                "%s delivery %s of event %s (%s) failed: %s",
                job.channel,
                job.delivery_id,
                event.id,
                event.subject,
                exc,
            )
            return Outcome(job.delivery_id, False, f"{type(exc).__name__}: {exc}"[:500])

    async def _mail(self, job: Job, event: Event) -> Outcome:
        assert job.email is not None
        if self.smtp is not None:
            await asyncio.to_thread(send_email, self.smtp, job.email, event.id)
            return Outcome(job.delivery_id, True, "sent")
        if self.mail_file is not None:
            mail = job.email
            record = {"to": mail.to, "subject": mail.subject, "body": mail.body, "ref": event.id}
            return Outcome(job.delivery_id, True, "sent", await self.mail_file.write(record))
        raise GatewayError("e-mail is not configured (smtp_host or email_file)")

    async def _post(self, job: Job, event: Event, body: bytes) -> Outcome:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "toancanh-webhook/1",
            "X-Toancanh-Event": event.subject,
            "X-Toancanh-Delivery": event.id,
            SIGNATURE_HEADER: sign(job.secret, body),
        }
        reply = await self.http.post(job.url, content=body, headers=headers)
        ok = 200 <= reply.status_code < 300
        return Outcome(job.delivery_id, ok, str(reply.status_code) if ok else f"HTTP {reply.status_code}")

    def _record(self, outcomes: list[Outcome], final: bool = False) -> int:
        """Write the outcomes to the log; returns how many deliveries should be tried again (`final`: none,
        a failure is failed at once)."""
        retry = 0
        now = utcnow()
        with self.db.session() as s:
            for out in outcomes:
                row = s.get(Delivery, out.delivery_id)
                if row is None:
                    continue
                row.attempts += 1
                hook = None
                if row.channel == "webhook":
                    hook = s.get(Webhook, routing.as_id(row.target.split(":", 1)[-1]) or 0)
                if out.ok:
                    row.status, row.sent_at, row.last_error = "sent", now, ""
                    row.provider_id = out.provider_id
                    if hook is not None:
                        hook.last_status, hook.failures = out.status, 0
                    continue
                row.last_error = out.status
                if hook is not None:
                    hook.last_status = out.status[:120]
                if row.attempts >= MAX_ATTEMPTS or final:
                    row.status = "failed"
                    if hook is not None:
                        hook.failures += 1
                    log.error(
                        "%s delivery %s of event %s given up after %d attempts: %s",
                        row.channel,
                        row.id,
                        row.event_id,
                        row.attempts,
                        row.last_error,
                    )
                else:
                    row.status = "retry"
                    retry += 1
        return retry

    # ---------------------------------------------------------------------------------- test messages

    async def send_test(self, route_id: int, actor: Any = None) -> list[RecipientResult]:
        """Send a test message to the recipients of route `route_id` now (its unit and domain, or every
        unit's role holders for a route without a unit); returns what became of each recipient.

        Recorded in the delivery log under a fresh event id, without retries; audited."""
        event = Event.create(TEST_SUBJECT, {"route_id": route_id})
        jobs, skipped, users = await asyncio.to_thread(self._plan_test, event, route_id)
        outcomes = {o.delivery_id: o for o in await self._send(jobs, event)}
        await asyncio.to_thread(self._record, list(outcomes.values()), True)
        result = list(skipped)
        for job in jobs:
            to = job.email.to if job.email is not None else job.to
            out = outcomes[job.delivery_id]
            result.append(
                RecipientResult(job.channel, to, users.get((job.channel, to), ""), out.ok, out.status)
            )
        await asyncio.to_thread(self._audit_test, route_id, actor, result)
        return result

    def _plan_test(
        self, event: Event, route_id: int
    ) -> tuple[list[Job], list[RecipientResult], dict[tuple[str, str], str]]:
        with self.db.session() as s:
            route = s.get(NotificationRoute, route_id)
            if route is None:
                raise NotFound("Không tìm thấy tuyến thông báo", "No such notification route")
            on = self.channels_on()
            message = channels.Message(
                title=f'Tin nhắn thử của tuyến thông báo "{route.name}" ({self.site_name})',
                url=f"{self.public_url.rstrip('/')}/notifications/channels",
            )
            skipped: list[RecipientResult] = []
            wanted: list[tuple[str, str, dict[str, Any]]] = []
            users: dict[tuple[str, str], str] = {}
            anywhere = route.unit_id is None
            for r in channels.recipients(s, route, route.unit_id, route.domain, anywhere=anywhere):
                if not r.address:
                    status = "no address: the user has no e-mail or mobile number for this channel"
                    skipped.append(RecipientResult(r.channel, "", r.user, False, status))
                elif r.channel not in on:
                    status = f"the {r.channel} channel is not configured"
                    skipped.append(RecipientResult(r.channel, r.address, r.user, False, status))
                else:
                    users[(r.channel, r.address)] = r.user
                    p = channels.planned(message, r, self.site_name)
                    wanted.append((p.channel, p.address, _job_fields(p)))
            return (self._claim(s, event, wanted) if wanted else []), skipped, users

    def _audit_test(self, route_id: int, actor: Any, result: list[RecipientResult]) -> None:
        with self.db.session() as s:
            audit.record_by(
                s,
                actor,
                "notification_route.test",
                entity_type="notification_route",
                entity_id=route_id,
                changes={"sent": sum(r.ok for r in result), "failed": sum(not r.ok for r in result)},
            )


def _job_fields(p: channels.Planned) -> dict[str, Any]:
    if p.channel == "email":
        return {"email": p.email}
    return {"to": p.address, "text": p.text, "link": p.link}
