"""SIEM parsing: CEF headers and extensions with their escapes, severity scales, syslog RFC 5424 and RFC 3164
(with CEF inside), Wazuh alerts, malformed lines of every kind, TCP framing (newline and octet counting), the
rate limiter, the mapping to events (kinds, asset matching) and the event_count rule on its own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toancanh.connectors.siem import mapping, parse
from toancanh.connectors.siem.const import REASONS
from toancanh.connectors.siem.listeners import BROKEN, TOO_LONG, Framer, RateLimiter
from toancanh.core.errors import BadRequest
from toancanh.modules.alerts.events import CATEGORY
from toancanh.modules.alerts.rules import LoadedRule, Observed, RuleEngine, parse_rule

NOW = datetime(2026, 12, 4, 14, 0, 0, tzinfo=UTC)  # 21:00 in Viet Nam


# ------------------------------------------------------------------------------------------- CEF


@pytest.mark.parametrize(
    ("line", "name", "ext"),
    [
        (
            r"CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232",
            "worm successfully stopped",
            {"src": "10.0.0.1", "dst": "2.1.2.2", "spt": "1232"},
        ),
        (  # an escaped pipe in the header, an escaped equals sign and spaces in a value
            r"CEF:0|Sec|tm|1.0|100|detected a \| in message|10|act=blocked a \= dst=1.1.1.1",
            "detected a | in message",
            {"act": "blocked a =", "dst": "1.1.1.1"},
        ),
        (  # an escaped backslash in the header and in a value; a value with spaces runs to the next key
            r"CEF:0|Sec|tm|1.0|100|path C:\\temp|5|filePath=C:\\Windows\\x.exe msg=long text here cs1=v",
            r"path C:\temp",
            {"filePath": r"C:\Windows\x.exe", "msg": "long text here", "cs1": "v"},
        ),
        (  # pipes need no escape in the extension; \n is a newline
            r"CEF:1|V|P|2|sig|Name|3|msg=a|b line1\nline2 rt=1733320800000",
            "Name",
            {"msg": "a|b line1\nline2", "rt": "1733320800000"},
        ),
        ("CEF:0|V|P|2|sig|No extension|Low|", "No extension", {}),
        (  # keys with dots, brackets and dashes; an equals sign inside a value glued to a word stays
            r"CEF:0|V|P|2|sig|Keys|7|ad.key[0]=x flex-string1=a=b",
            "Keys",
            {"ad.key[0]": "x", "flex-string1": "a=b"},
        ),
    ],
)
def test_cef_header_and_extension(line: str, name: str, ext: dict[str, str]) -> None:
    cef = parse.parse_cef(line)
    assert cef.name == name
    assert cef.extension == ext


@pytest.mark.parametrize(
    ("raw", "severity", "level"),
    [
        ("0", "minor", 0),
        ("3", "minor", 3),
        ("4", "moderate", 4),
        ("6", "moderate", 6),
        ("7", "severe", 7),
        ("8", "severe", 8),
        ("9", "extreme", 9),
        ("10", "extreme", 10),
        ("Low", "minor", None),
        ("medium", "moderate", None),
        ("High", "severe", None),
        ("Very-High", "extreme", None),
        ("Unknown", "unknown", None),
    ],
)
def test_cef_severity_scale(raw: str, severity: str, level: int | None) -> None:
    assert parse.cef_severity(raw) == (severity, level)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("CEF:0|V|P|1|sig|name", "cef_header"),  # too few fields
        (r"CEF:0|V|P|1|sig|name\|7|x=1", "cef_header"),  # the last pipe is escaped: six fields
        ("CEF:2|V|P|1|sig|name|5|", "cef_version"),
        ("CEF:0|V|P|1|sig|name|11|", "cef_severity"),
        ("CEF:0|V|P|1|sig|name|-1|", "cef_severity"),
        ("CEF:0|V|P|1|sig|name|Critical|", "cef_severity"),
        ("CEF:0|V|P|1|sig| |5|", "cef_header"),  # no name
        ("CEF:0|V|P|1|sig|name|5|just words, no key", "cef_extension"),
        ("CEF:0|V|P|1|sig|name|5|" + " ".join(f"k{i}=v" for i in range(101)), "cef_extension"),
        ("LEEF:1.0|V|P|1|sig|", "cef_header"),
    ],
)
def test_malformed_cef(line: str, reason: str) -> None:
    with pytest.raises(parse.Malformed) as err:
        parse.parse_cef(line)
    assert err.value.reason == reason
    assert reason in REASONS


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_read_or_refused_never_crashes(text: str) -> None:
    for read in (
        lambda: parse.parse_cef("CEF:0|V|P|1|s|n|5|" + text),
        lambda: parse.syslog_line(text.encode(), NOW),
        lambda: parse.syslog_line(b"<13>" + text.encode(), NOW),
        lambda: parse.wazuh_line(text.encode()),
    ):
        try:
            read()
        except parse.Malformed as exc:
            assert exc.reason in REASONS


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
        lambda s: s.strip() == s and s
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40).map(str.strip),
)
def test_escaped_values_come_back_unchanged(name: str, value: str) -> None:
    def esc_header(s: str) -> str:
        return s.replace("\\", "\\\\").replace("|", "\\|")

    def esc_ext(s: str) -> str:
        return s.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r")

    value = " ".join(value.split())
    cef = parse.parse_cef(f"CEF:0|V|P|1|s|{esc_header(name)}|5|msg={esc_ext(value)} dst=10.0.0.1")
    assert cef.name == name
    assert cef.extension == {"msg": value, "dst": "10.0.0.1"}


# ------------------------------------------------------------------------------------------- syslog


def test_rfc5424_examples_of_the_rfc() -> None:
    m = parse.syslog_line(
        b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
        b"\xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8",
        NOW,
    )
    assert (m.rfc, m.facility, m.level, m.hostname, m.app, m.procid, m.msgid) == (
        "5424",
        4,
        2,
        "mymachine.example.com",
        "su",
        "",
        "ID47",
    )
    assert m.at == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert m.message == "'su root' failed for lonvick on /dev/pts/8"  # the BOM is dropped
    assert m.severity == "severe"
    sd = parse.syslog_line(
        b'<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - [exampleSDID@32473 iut="3" '
        b'eventSource="Appli\\"cation" note="a\\]b\\\\c"][examplePriority@32473 class="high"] An event',
        NOW,
    )
    assert sd.structured == {
        "exampleSDID@32473": {"iut": "3", "eventSource": 'Appli"cation', "note": "a]b\\c"},
        "examplePriority@32473": {"class": "high"},
    }
    assert (sd.procid, sd.message, sd.level) == ("8710", "An event", 5)
    nil = parse.syslog_line(b"<14>1 - - - - - -", NOW)
    assert (nil.at, nil.hostname, nil.message) == (None, "", "")


def test_rfc3164_times_are_viet_nam_local_in_the_nearest_year() -> None:
    m = parse.syslog_line(b"<86>Dec  4 20:59:01 web01 sshd[1234]: Failed password for root from 1.2.3.4", NOW)
    assert (m.rfc, m.hostname, m.app, m.procid, m.level) == ("3164", "web01", "sshd", "1234", 6)
    assert m.at == datetime(2026, 12, 4, 13, 59, 1, tzinfo=UTC)
    assert m.message == "Failed password for root from 1.2.3.4"
    jan = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)  # a December line read on New Year's day is last year's
    assert parse.syslog_line(b"<13>Dec 31 23:59:00 h app: x", jan).at.year == 2026  # type: ignore[union-attr]
    iso = parse.syslog_line(b"<13>2026-12-04T21:00:00+07:00 h app: x", NOW)
    assert iso.at == datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
    headless = parse.syslog_line(b"<13>just a message", NOW)  # a relay adds nothing: the whole is the message
    assert (headless.at, headless.hostname, headless.message) == (None, "", "just a message")


@pytest.mark.parametrize(
    "line",
    [
        b"<134>Dec  4 21:00:01 fw01 CEF:0|Fortinet|FortiGate|7.0|13|Deny|7|src=10.0.0.1 dst=10.0.1.5",
        b"<134>Dec  4 21:00:01 CEF:0|Fortinet|FortiGate|7.0|13|Deny|7|src=10.0.0.1 dst=10.0.1.5",
        b"<134>1 2026-12-04T21:00:01+07:00 fw01 fortigate - - - CEF:0|Fortinet|FortiGate|7.0|13|Deny|7|"
        b"src=10.0.0.1 dst=10.0.1.5",
        b"<134>Dec  4 21:00:01 fw01 fortigate: CEF:0|Fortinet|FortiGate|7.0|13|Deny|7|src=10.0.0.1 dst=10.0.1.5",
        b"CEF:0|Fortinet|FortiGate|7.0|13|Deny|7|src=10.0.0.1 dst=10.0.1.5",  # bare CEF over TCP
    ],
)
def test_cef_inside_syslog(line: bytes) -> None:
    m = parse.syslog_line(line, NOW)
    assert m.cef is not None
    assert (m.cef.vendor, m.cef.name, m.cef.severity) == ("Fortinet", "Deny", "severe")
    assert m.cef.extension == {"src": "10.0.0.1", "dst": "10.0.1.5"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"no pri at all", "pri"),
        (b"<>1 - - - - - -", "pri"),
        (b"<192>1 - - - - - -", "pri"),
        (b"<013>x", "pri"),
        (b"<13>2 - - - - - -", "header"),  # syslog version 2
        (b"<13>1 - host app", "header"),  # RFC 5424 header cut short
        (b"<13>1 yesterday host app - - - x", "timestamp"),
        (b"<13>1 2026-12-04T21:00:00 host app - - - x", "timestamp"),  # no time zone
        (b"<13>1 - host app - - [unterminated x", "structured_data"),
        (b'<13>1 - host app - - [id k="v"]x', "structured_data"),
        (b"<13>1 - host app - - nope", "structured_data"),
        (b"<13>Feb 30 10:00:00 host app: x", "timestamp"),
        (b"<13>Dec  4 25:00:00 host app: x", "timestamp"),
        (b"<13>Dec  4 21:00:00 fw CEF:0|V|P|1|sig|name|12|", "cef_severity"),
        (b"\xff\xfe<13>x", "encoding"),
        (b"<13>" + b"x" * (64 * 1024), "too_long"),
    ],
)
def test_malformed_syslog(line: bytes, reason: str) -> None:
    with pytest.raises(parse.Malformed) as err:
        parse.syslog_line(line, NOW)
    assert err.value.reason == reason


# ------------------------------------------------------------------------------------------- Wazuh


def wazuh(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "timestamp": "2026-12-04T20:59:00.123+0700",
        "rule": {
            "level": 10,
            "description": "sshd: brute force trying to get access to the system.",
            "id": "5712",
            "groups": ["syslog", "sshd", "authentication_failures"],
            "mitre": {"id": ["T1110"]},
        },
        "agent": {"id": "001", "name": "web-a", "ip": "10.0.1.5"},
        "manager": {"name": "wazuh"},
        "id": "1733320740.1234",
        "full_log": "Dec  4 20:59:00 web-a sshd[1]: Failed password for root from 203.0.113.9 port 22",
        "data": {"srcip": "203.0.113.9", "srcuser": "root"},
        "location": "/var/log/auth.log",
    }
    doc.update(over)
    return doc


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        (0, "minor"),
        (4, "minor"),
        (5, "moderate"),
        (9, "moderate"),
        (10, "severe"),
        (11, "severe"),
        (12, "extreme"),
        (15, "extreme"),
    ],
)
def test_wazuh_levels_map_to_cap(level: int, severity: str) -> None:
    doc = wazuh()
    doc["rule"]["level"] = level
    assert parse.wazuh_line(orjson.dumps(doc)).severity == severity


def test_wazuh_alert_fields() -> None:
    a = parse.wazuh_line(orjson.dumps(wazuh()) + b"\n")
    assert (a.id, a.level, a.rule_id, a.agent_name, a.agent_ip, a.srcip, a.srcuser, a.mitre) == (
        "1733320740.1234",
        10,
        "5712",
        "web-a",
        "10.0.1.5",
        "203.0.113.9",
        "root",
        ["T1110"],
    )
    assert a.at == datetime(2026, 12, 4, 13, 59, 0, 123000, tzinfo=UTC)
    m = mapping.from_wazuh(a, "raw")
    assert (m.kind, m.source_ref, m.candidates[0]) == ("brute_force", "wazuh:1733320740.1234", "web-a")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "json"),
        (b"[1, 2]", "wazuh"),
        (b'"a string"', "wazuh"),
        (orjson.dumps({"agent": {}}), "wazuh"),
        (orjson.dumps(wazuh(rule={"level": 16, "description": "x"})), "wazuh"),
        (orjson.dumps(wazuh(rule={"level": -1, "description": "x"})), "wazuh"),
        (orjson.dumps(wazuh(rule={"level": True, "description": "x"})), "wazuh"),
        (orjson.dumps(wazuh(rule={"level": "high", "description": "x"})), "wazuh"),
        (orjson.dumps(wazuh(rule={"level": 5})), "wazuh"),
        (orjson.dumps(wazuh(rule={"level": 5, "description": "x", "groups": "sshd"})), "wazuh"),
        (orjson.dumps(wazuh(timestamp="yesterday")), "timestamp"),
        (orjson.dumps(wazuh(timestamp=12)), "timestamp"),
        (b"", "empty"),
    ],
)
def test_malformed_wazuh(line: bytes, reason: str) -> None:
    with pytest.raises(parse.Malformed) as err:
        parse.wazuh_line(line)
    assert err.value.reason == reason


# ------------------------------------------------------------------------------------------- framing


def test_tcp_framing_newlines_and_octet_counting_in_any_chunks() -> None:
    frames = [b"<13>1 - h a - - - one", b"<13>two\twith tab", b"CEF:0|V|P|1|s|n|5|x=1"]
    counted = b"".join(b"%d %s" % (len(f), f) for f in frames)
    newline = b"".join(f + b"\n" for f in frames)
    crlf = b"".join(f + b"\r\n" for f in frames)
    for stream in (counted, newline, crlf, counted + newline):
        want = frames * (2 if stream == counted + newline else 1)
        for size in (1, 3, 7, len(stream)):
            f = Framer()
            got: list[bytes] = []
            for i in range(0, len(stream), size):
                got += f.feed(stream[i : i + size])
            got += f.close()
            assert [g.rstrip(b"\r") for g in got] == want, (stream[:40], size)


def test_tcp_framing_limits_and_broken_lengths() -> None:
    f = Framer(max_len=10)
    assert f.feed(b"12345678901\nshort\n") == [TOO_LONG, b"short"]
    assert f.feed(b"x" * 25) == [TOO_LONG]  # no newline yet: discarded up to the next one
    assert f.feed(b"yyy\nok\n") == [b"ok"]
    assert f.feed(b"20 " + b"z" * 20 + b"5 hello") == [TOO_LONG, b"hello"]  # oversized counted frame skipped
    assert f.feed(b"0 x") == [BROKEN]
    assert f.broken and f.feed(b"ok\n") == []
    g = Framer()
    g.feed(b"100 <13>cut")
    assert g.close() == [BROKEN]  # the stream ended inside a counted frame
    h = Framer()
    assert h.feed(b"123abc\n") == [b"123abc"]  # digits without a space: a line (malformed later)
    assert h.close() == []
    k = Framer()
    k.feed(b"no newline at the end")
    assert k.close() == [b"no newline at the end"]


def test_rate_limiter_per_sender() -> None:
    r = RateLimiter(rate_per_s=10, burst=5)
    assert [r.allow("a", now=0.0) for _ in range(7)] == [True] * 5 + [False] * 2
    assert r.allow("b", now=0.0)  # another sender has its own bucket
    assert r.allow("a", now=0.1) and not r.allow("a", now=0.1)  # one token back after 0.1 s
    assert RateLimiter(0, 1).allow("x")  # 0: off


# ------------------------------------------------------------------------------------------- mapping


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Failed password for invalid user admin from 203.0.113.9 port 2222 ssh2", "auth_failure"),
        ("pam_unix(sshd:auth): authentication failure; rhost=203.0.113.9 user=root", "auth_failure"),
        ("Login failed for user 'sa'", "auth_failure"),
        ("SSH brute force attempt", "brute_force"),
        ("Trojan.GenericKD detected in C:\\Users\\x.exe", "malware"),
        ("SQL Injection attempt on /login.php", "web_attack"),
        ("TCP port scan from 198.51.100.7", "recon"),
        ("Deny tcp src outside:1.2.3.4/555 dst inside:10.0.0.5/22", "firewall"),
        ("ET EXPLOIT Apache Log4j RCE attempt", "intrusion"),
        ("Windows update installed", "alert"),
    ],
)
def test_kinds_from_text(text: str, kind: str) -> None:
    assert mapping.kind_of_text(text) == kind


def test_events_from_each_format_are_valid() -> None:
    lines: list[tuple[str, bytes]] = [
        ("syslog", b"<86>Dec  4 20:59:01 web-a sshd[1]: Failed password for root from 203.0.113.9 port 22"),
        (
            "syslog",
            b"<134>Dec  4 20:59:01 fw01 CEF:0|F|FG|7|13|Deny|7|src=203.0.113.9 dst=10.0.1.5 suser=bob",
        ),
        ("wazuh", orjson.dumps(wazuh())),
    ]
    asset = mapping.AssetRef("srv-a", 7)
    for kind, line in lines:
        if kind == "wazuh":
            m = mapping.from_wazuh(parse.wazuh_line(line), line.decode())
        else:
            m = mapping.from_syslog(parse.syslog_line(line, NOW), line.decode(), "10.9.9.9")
        e = mapping.to_event(m, asset, 1)
        assert CATEGORY.fullmatch(e.category) and e.category.startswith("infosec.")
        assert (e.source, e.domain, e.asset_code, e.unit_id) == ("siem", "infosec", "srv-a", None)
        assert e.payload["srcip"] == "203.0.113.9"
        assert e.payload["raw"] == line.decode() and e.evidence[0]["ref"].startswith("sha256:")
        assert e.title and len(e.title) <= 300 and e.title_en
    free = mapping.to_event(m, None, 42)
    assert (free.unit_id, free.asset_code, free.payload["asset"]) == (42, None, "")


def test_asset_keys_and_matching_order() -> None:
    keys = mapping.asset_keys("SRV-A", {"ip": ["10.0.1.5", "not-an-ip"], "hostname": "Web-A.xa.gov.vn."})
    assert keys == {"srv-a", "10.0.1.5", "web-a.xa.gov.vn", "web-a"}
    m = mapping.AssetMatcher()
    m._by_key = {k: mapping.AssetRef("SRV-A", 5) for k in keys}
    assert m.match(None, ["", "unknown", "WEB-A"]) == mapping.AssetRef("SRV-A", 5)
    assert m.match(None, ["10.0.1.5"]) == mapping.AssetRef("SRV-A", 5)
    assert m.match(None, ["10.0.1.6", "10.0.9.9"]) is None
    assert m.match(None, ["10.0.1.5x"]) is None


# ------------------------------------------------------------------------------------------- event_count


def observed(i: int, ts: int, srcip: str, unit: int = 1, category: str = "infosec.auth_failure") -> Observed:
    return Observed(
        id=i,
        ts=ts,
        source="siem",
        category=category,
        severity="minor",
        domain="infosec",
        unit_id=unit,
        unit_path="/01/00664/" if unit == 1 else "/01/00070/",
        asset_id=None,
        lat=None,
        lon=None,
        title="Failed login",
        payload={"srcip": srcip},
    )


def test_event_count_fires_at_k_events_from_one_address_within_the_window() -> None:
    spec = parse_rule(
        {
            "code": "bf-test",
            "name": "bf",
            "when": {
                "type": "event_count",
                "match": {"category": "infosec.auth_failure", "source": "siem"},
                "k": 3,
                "within_s": 60,
                "per_payload": "srcip",
            },
            "alert": {"category": "infosec.brute_force", "severity": "severe", "title_vi": "{count} lần"},
        }
    )
    engine = RuleEngine()
    engine.load([LoadedRule(1, 1, "/01/", spec, unit_id=1)])
    none = lambda _i: None  # noqa: E731
    fired = []
    t = 1_000_000
    # two from A, three from B interleaved: only B reaches k; then A's third comes after the window
    for i, (dt, ip) in enumerate([(0, "A"), (1, "B"), (2, "A"), (3, "B"), (4, "B"), (70, "A")]):
        fired += engine.feed_event(observed(i, t + dt * 1000, ip), none)
    assert len(fired) == 1
    f = fired[0]
    assert (f.details["srcip"], f.details["count"], f.title, f.unit_id) == ("B", 3, "3 lần", 1)
    assert f.key == "bf-test:unit:1|srcip=B"
    # the same address in another unit counts apart; events without the field are not counted
    for i in range(3):
        fired += engine.feed_event(observed(10 + i, t + 100_000 + i, "B", unit=2), none)
        fired += engine.feed_event(observed(20 + i, t + 100_000 + i, ""), none)
    assert [x.unit_id for x in fired] == [1, 2]
    bad = {**spec.to_dict(), "when": {**spec.to_dict()["when"], "k": 1}}
    with pytest.raises(BadRequest) as err:
        parse_rule(bad)
    assert err.value.details[0]["loc"] == "when.k"
