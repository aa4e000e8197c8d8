"""siem_parse: lines per second read by the SIEM connector's parsers, against baselines in the same run.

Subjects: a CEF record inside RFC 3164 syslog (header escapes, an extension with spaces and `\\=`), a plain
RFC 5424 line with STRUCTURED-DATA, an RFC 3164 sshd line, and a Wazuh alerts.json line; each also through
the mapping to an event (`to_event`: kind, payload, SHA-256 evidence), which is what the pipeline does per
line before the database. Baselines: `bytes.split()` of the same syslog lines (the least a reader must do)
and `orjson.loads` of the same Wazuh line. Each rate is the best of interleaved rounds
(`_common.best_rates`); the ratios are the figures. Default run well under 30 s; `--quick` for a glance.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from bench._common import best_rates, main, print_table, sig
from toancanh.connectors.siem import mapping, parse

NAME = "siem_parse"
BATCH = 1000
NOW = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
CEF = (
    b"<134>Dec  4 21:00:01 fw01 CEF:0|Fortinet|FortiGate|7.2.5|13056|Web filter \\| blocked|7|"
    b"src=203.0.113.9 dst=10.0.1.5 spt=51234 dpt=443 proto=6 act=blocked suser=nguyen.van.a "
    b"request=https://bad.example/login?id\\=1 msg=Blocked by policy 12 cat=webfilter cs1Label=policy cs1=12"
)
RFC5424 = (
    b'<165>1 2026-12-04T21:00:01.003+07:00 web-a.xa.gov.vn nginx 8710 ID47 [meta@32473 iut="3" '
    b'src="203.0.113.9"] upstream timed out while reading response header from upstream'
)
RFC3164 = (
    b"<86>Dec  4 21:00:01 web-a sshd[1234]: Failed password for invalid user admin from 203.0.113.9 port 22"
)
WAZUH = orjson.dumps(
    {
        "timestamp": "2026-12-04T21:00:01.123+0700",
        "rule": {
            "level": 10,
            "description": "sshd: brute force trying to get access to the system. Authentication failed.",
            "id": "5763",
            "firedtimes": 3,
            "groups": ["syslog", "sshd", "authentication_failures"],
            "mitre": {"id": ["T1110"], "tactic": ["Credential Access"]},
        },
        "agent": {"id": "001", "name": "web-a", "ip": "10.0.1.5"},
        "manager": {"name": "wazuh-manager"},
        "id": "1733320801.123456",
        "full_log": "Dec  4 21:00:01 web-a sshd[1234]: Failed password for root from 203.0.113.9 port 22",
        "decoder": {"name": "sshd"},
        "data": {"srcip": "203.0.113.9", "srcuser": "root"},
        "location": "/var/log/auth.log",
    }
)
ASSET = mapping.AssetRef("srv-a", 1)


def _loop(fn: Callable[[], Any]) -> Callable[[], int]:
    def run() -> int:
        for _ in range(BATCH):
            fn()
        return BATCH

    return run


def _event_syslog(line: bytes) -> Callable[[], Any]:
    text = line.decode()

    def go() -> Any:
        return mapping.to_event(mapping.from_syslog(parse.syslog_line(line, NOW), text), ASSET, None)

    return go


def _event_wazuh() -> Any:
    return mapping.to_event(mapping.from_wazuh(parse.wazuh_line(WAZUH), ""), ASSET, None)


def run() -> dict[str, Any]:
    quick = "--quick" in sys.argv
    rounds, seconds = (2, 0.1) if quick else (5, 0.3)
    assert parse.syslog_line(CEF, NOW).cef is not None  # the subjects read what they should
    assert parse.syslog_line(RFC5424, NOW).structured
    assert parse.wazuh_line(WAZUH).level == 10
    measures = {
        "split_baseline": _loop(lambda: CEF.split()),
        "json_baseline": _loop(lambda: orjson.loads(WAZUH)),
        "cef": _loop(lambda: parse.syslog_line(CEF, NOW)),
        "rfc5424": _loop(lambda: parse.syslog_line(RFC5424, NOW)),
        "rfc3164": _loop(lambda: parse.syslog_line(RFC3164, NOW)),
        "wazuh": _loop(lambda: parse.wazuh_line(WAZUH)),
        "cef_event": _loop(_event_syslog(CEF)),
        "rfc3164_event": _loop(_event_syslog(RFC3164)),
        "wazuh_event": _loop(_event_wazuh),
    }
    r = best_rates(measures, rounds=rounds, seconds_per_round=seconds)
    split, js = r["split_baseline"], r["json_baseline"]
    figures: dict[str, Any] = {f"{k}_lines_per_s": sig(v) for k, v in r.items()}
    for k in ("cef", "rfc5424", "rfc3164", "cef_event", "rfc3164_event"):
        figures[f"ratio_{k}_to_split"] = sig(r[k] / split)
    for k in ("wazuh", "wazuh_event"):
        figures[f"ratio_{k}_to_json"] = sig(r[k] / js)
    print_table(
        "siem_parse: lines/s (best of interleaved rounds)",
        [(name, f"{v:,.0f}") for name, v in r.items()]
        + [(f"{k.removeprefix('ratio_')}", f"{v:.3f}") for k, v in figures.items() if k.startswith("ratio_")],
    )
    return figures


if __name__ == "__main__":
    main(NAME, run)
