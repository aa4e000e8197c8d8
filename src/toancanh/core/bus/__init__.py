"""Domain event bus: an in-process bus (default) and a NATS JetStream bus (production).

Domain events are written to the transactional outbox; the relay reads the outbox and calls
:meth:`Bus.publish`. Rules, the SSE endpoint and other modules subscribe by subject pattern.

Subjects look like ``toancanh.<domain>.<entity>.<verb>`` (``toancanh.assets.asset.updated``). Patterns
use the NATS wildcards: ``*`` matches exactly one token, ``>`` matches one or more trailing tokens. Every
subject and pattern must start with the bus's ``subject_prefix`` (``toancanh`` by default) on both buses,
so code that works on the in-process bus also works on NATS, whose stream only captures ``<prefix>.>``.

Two kinds of subscription, the same on both buses:

* **live** (``durable=None``): fan-out. Every live subscriber in every process receives each event
  published after it subscribed. Each subscriber has its own bounded queue (``live_queue_size``, 10,000
  by default) and one worker task that runs the handler for one event at a time, in order. When the
  queue is full the *oldest* queued event is dropped and counted (:attr:`Subscription.dropped`); a slow
  live subscriber never slows the publisher. For the SSE endpoint and dashboards, which reload state
  after a gap anyway.
* **durable** (``durable="name"``): work queue. Each event matching the pattern is delivered at least
  once to ONE of the subscribers sharing that durable name. The durable begins at the first
  ``subscribe`` with that name and keeps collecting events while nobody is subscribed. A handler that
  raises gets the event again later. Handlers must therefore be idempotent.

Handlers never run in the publisher's task: an exception in a handler is logged (logger
``toancanh.bus``, with the pattern, durable name, event id and subject) and never stops the bus or the
other subscribers. Handlers of one subscription run one at a time; different subscriptions run
concurrently. The :class:`Event` a handler receives may be shared with other subscribers: treat it, and
its ``data``, as read-only.

Deduplication: publishing an event whose ``id`` was already published within ``duplicate_window`` (2
minutes) delivers it once (JetStream's ``Nats-Msg-Id`` on NATS; a bounded table of recent ids on the
in-process bus and in each NATS live subscription), so a relay retrying after a failure does not
double-deliver.

In-process specifics (:class:`InProcessBus`): events live only in memory, so "durable" means "for the
life of the process": nothing survives a restart. A failing durable handler is retried
``len(retry_delays)`` more times by the same subscriber (after 0.05 s, 0.25 s, 1 s by default); after
the last failure the event is logged at ERROR and dropped. A durable's queue is bounded
(``durable_queue_size``); when it is full ``publish`` waits for room instead of dropping. Exception: a
durable that has no subscriber at the moment drops its oldest event (logged) rather than block
publishers forever. ``close()`` waits up to ``close_timeout`` seconds for subscribed durables to finish
their queued events.

NATS specifics (:class:`NatsBus`): see the class docstring.

Layout: :mod:`.events` (the envelope, subject rules, the :class:`Bus` interface), :mod:`.delivery`
(what both buses share: the live subscription queue, handler calls, the recent-ids table),
:mod:`.memory` (:class:`InProcessBus`), :mod:`.nats_bus` (:class:`NatsBus`) and :mod:`.nats_durable`
(its durable pull-consumer loop).
"""

from __future__ import annotations

from typing import Any

from toancanh.core.bus.events import (
    Bus,
    BusError,
    Event,
    Handler,
    Subscription,
    subject_matches,
    validate_pattern,
    validate_subject,
)
from toancanh.core.bus.memory import InProcessBus
from toancanh.core.bus.nats_bus import NatsBus

__all__ = [
    "Bus",
    "BusError",
    "Event",
    "Handler",
    "InProcessBus",
    "NatsBus",
    "Subscription",
    "create_bus",
    "subject_matches",
    "validate_pattern",
    "validate_subject",
]


def create_bus(url: str, **options: Any) -> Bus:
    """``memory://`` -> :class:`InProcessBus`; ``nats://host:port[,nats://host2:port]`` (or ``tls://``) ->
    :class:`NatsBus`. ``options`` go to the constructor. Unknown scheme -> ValueError."""
    if not isinstance(url, str):
        raise ValueError(f"bus url must be a string, got {url!r}")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "memory":
        return InProcessBus(**options)
    if scheme in ("nats", "tls"):
        return NatsBus(url, **options)
    raise ValueError(f"unknown bus url {url!r}: use memory:// or nats://host:port[,nats://...]")
