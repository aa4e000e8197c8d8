"""One Settings object for the whole process: env `TOANCANH_*` and an optional `toancanh.toml`."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_MODULES = [
    "admin",
    "reports",
    "notifications",
    "alerts",
    "indicators",
    "direction",
    "cameras",
    "vision",
    "ngsild",
    "gis",
    "media",
    "health",
    "facilities",
]


class Settings(BaseSettings):
    """Process settings. Every field can be set as `TOANCANH_<NAME>` or in `toancanh.toml`."""

    model_config = SettingsConfigDict(
        env_prefix="TOANCANH_",
        toml_file=os.environ.get("TOANCANH_CONFIG", "toancanh.toml"),
        extra="forbid",
    )

    data_dir: Path = Path("./var")
    database_url: str = ""  # empty: SQLite in data_dir
    bus_url: str = "memory://"
    secret_key: str = ""  # empty: generated once and kept in data_dir/secret_key
    modules: list[str] = Field(default_factory=lambda: list(DEFAULT_MODULES))
    site_name: str = "Toàn Cảnh"
    default_locale: str = "vi"
    tile_url: str = ""  # e.g. "https://tile.example.org/{z}/{x}/{y}.png"; empty: no base map (offline)
    max_body_bytes: int = 25 * 1024 * 1024  # five phone photos fit
    # Load shedding per process (core/overload.py): 503 past this many requests at once (0: no limit), and a
    # token bucket per client (API key/token, else address): 429 past rate_limit_per_s (0: off) after a burst.
    # What this process does (core/leases.py): "all" (one process: everything, the commune shape), "api"
    # (stateless HTTP replica: no connectors or background jobs), "worker" (`toancanh worker`: connectors,
    # jobs and cameras under leases of lease_ttl_s seconds, shared with the other workers).
    role: Literal["all", "api", "worker"] = "all"
    lease_ttl_s: float = Field(default=15.0, ge=3.0, le=600.0)
    shutdown_grace_s: float = Field(
        default=5.0, ge=0, le=600.0
    )  # on SIGTERM: in-flight requests and SSE streams get this long
    max_inflight_requests: int = Field(default=256, ge=0)
    rate_limit_per_s: float = Field(default=0.0, ge=0)
    rate_limit_burst: int = Field(default=100, ge=1)
    session_hours: int = 12
    login_max_failures: int = 5
    login_window_minutes: int = 15
    secure_cookies: bool = False
    relay_interval_s: float = 0.5
    simulator: bool = False
    simulator_interval_s: float = 3.0
    public_url: str = ""  # e.g. "https://ioc.example.gov.vn": links in e-mails; empty: paths only
    smtp_host: str = ""  # empty: no e-mail
    smtp_port: int = 587
    smtp_from: str = "toancanh@localhost"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    email_file: str = ""  # without an SMTP host, e-mails are appended to this JSON-lines file (the demo)
    # SMS and Zalo: "" (off), "file:/path.jsonl", an http(s):// URL or "<plugin>:..."; docs/notifications.md
    sms_gateway: str = ""
    sms_gateway_token: str = ""  # the bearer token of the HTTP SMS gateway
    sms_sender: str = ""  # the brandname (tên định danh) the provider registered for the IOC
    zalo_gateway: str = ""  # "zns" is Zalo's own ZNS endpoint
    zalo_access_token: str = ""  # the Official Account's access token (ZNS)
    zalo_template_id: str = ""  # the approved ZNS template, with the parameters `title` and `link`
    notifications_durable: str = "notifications"  # the bus durable name the notification worker shares
    connectors: list[str] = Field(default_factory=list)  # e.g. ["mqtt", "cap"]
    mqtt_url: str = "mqtt://127.0.0.1:1883"  # the broker devices publish to (mqtts:// for TLS)
    mqtt_username: str = ""  # the IOC's own broker account (reads every device's topics)
    mqtt_password: str = ""
    mqtt_client_id: str = (
        "toancanh-ingest"  # a persistent session: the broker keeps QoS 1 messages while we are away
    )
    mqtt_topic_prefix: str = "toancanh/v1"
    cap_feeds: list[str] = Field(default_factory=list)  # CAP 1.2 alert or Atom feed URLs (or file paths)
    cap_poll_s: float = 300.0
    # The CAP <status> values recorded as events: "Actual" only, unless a drill wants "Exercise" or "Test".
    cap_statuses: list[str] = Field(default_factory=lambda: ["Actual"])
    cap_sender: str = "ioc@toancanh.local"  # <sender> of the IOC's own CAP warnings
    # Press monitoring (modules/media; connectors rss, web_page, social_json): how often the connectors
    # look for due sources, and the least time between two requests to one host (a Crawl-delay may ask more).
    media_poll_s: float = Field(default=60.0, gt=0)
    media_host_interval_s: float = Field(default=2.0, ge=0)
    # SIEM and firewall alerts (connectors/siem, docs/siem.md). Ports: 0 off, -1 any free port (tests).
    siem_syslog_host: str = "127.0.0.1"  # "0.0.0.0" to hear other machines
    siem_syslog_udp_port: int = Field(default=0, ge=-1, le=65535)  # e.g. 5514 (514 needs root)
    siem_syslog_tcp_port: int = Field(default=0, ge=-1, le=65535)  # newline or octet-counted frames
    siem_wazuh_alerts_file: str = ""  # e.g. /var/ossec/logs/alerts/alerts.json, followed like tail -F
    siem_wazuh_from_start: bool = False  # read the file from its start (default: only new lines)
    siem_default_unit: str = ""  # unit code of alerts that match no asset; empty: the top-level unit
    siem_min_severity: Literal["unknown", "minor", "moderate", "severe", "extreme"] = "minor"
    siem_syslog_max_level: int = Field(default=4, ge=0, le=7)  # plain syslog kept at this level or worse
    siem_rate_per_s: float = Field(default=1000.0, ge=0)  # lines a second per sender (0: no limit)
    siem_rate_burst: int = Field(default=5000, ge=1)
    table_max_upload_bytes: int = 20 * 1024 * 1024  # an imported .xlsx or .csv file (indicators, documents)
    table_max_unzipped_bytes: int = 200 * 1024 * 1024  # an .xlsx's contents, checked before opening
    table_max_rows: int = 200_000
    # Cameras (modules/cameras): credentials are Fernet-encrypted with this key (empty: generated once into
    # data_dir/camera_secret_key); the health monitor opens each enabled camera's substream in the process
    # holding the camera's lease (`camera:<id>`: every camera in a single process, shared among workers).
    camera_secret_key: str = ""
    camera_monitor: bool = True
    # how often the watching process leaves the latest image on disk for the other processes (an API replica's
    # snapshots and live view of a camera a worker watches); lower it for smoother live views through replicas
    camera_snapshot_disk_s: float = 10.0
    camera_media_dir: Path | None = None  # where `file` sources may live; None: data_dir/media
    camera_open_timeout_s: float = 10.0
    camera_read_timeout_s: float = 10.0
    camera_backoff_initial_s: float = 2.0
    camera_backoff_max_s: float = 120.0
    camera_state_interval_s: float = 60.0  # how often a live camera's fps and last frame reach the database
    camera_mjpeg_max_fps: float = 5.0
    # GIS map: a base-map tile URL ({z}/{x}/{y}, a local tile server); empty: offline unit boundaries
    gis_base_tile_url: str = ""
    camera_view_audit_s: float = 300.0  # repeated views of one camera by one user within this count once
    vision_enabled: bool = False  # run the video analytics pipelines in the app process
    vision_clip_before_s: float = 5.0  # an event's evidence clip starts this long before it ...
    vision_clip_after_s: float = 5.0  # ... and ends this long after (0 and 0: no clips)
    onvif_probe_address: str = "239.255.255.250:3702"  # WS-Discovery group; tests give a unicast host:port
    onvif_timeout_s: float = 3.0
    # Data retention in days per kind (0: kept forever); core/retention.py. The purge runs every
    # retention_interval_h hours in each app process that has it on (0: only `toancanh retention run`).
    retention_readings_days: int = Field(default=730, ge=0)
    retention_events_days: int = Field(default=365, ge=0)
    retention_footage_days: int = Field(default=90, ge=0)
    retention_personal_days: int = Field(default=365, ge=0)
    retention_interval_h: float = Field(default=24.0, ge=0)
    log_json: bool = True
    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator("modules", mode="before")
    @classmethod
    def _split_modules(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [m.strip() for m in value.split(",") if m.strip()]
        return value

    @field_validator("cap_statuses", mode="before")
    @classmethod
    def _check_cap_statuses(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        allowed = ("Actual", "Exercise", "System", "Test", "Draft")  # CAP 1.2 <status>
        if not isinstance(value, list) or not value or any(v not in allowed for v in value):
            raise ValueError(f"cap_statuses: one or more of {', '.join(allowed)}")
        return value

    @field_validator("bus_url")
    @classmethod
    def _check_bus(cls, value: str) -> str:
        if not (value == "memory://" or value.startswith("nats://") or value.startswith("tls://")):
            raise ValueError("bus_url must be memory:// or nats://host:port")
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'toancanh.db').resolve()}"

    @cached_property
    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret_key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"
