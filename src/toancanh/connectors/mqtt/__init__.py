"""Devices over MQTT (*thiết bị gửi dữ liệu qua MQTT*): readings, heartbeats, alarms and status from sensors.

Devices publish to a Mosquitto broker under `<prefix>/<device code>/{readings,heartbeat,alarm,status}`
(docs/mqtt.md); the coordinator keeps a persistent session there and stores each batch before acknowledging
it. Settings: `mqtt_url`, `mqtt_username`, `mqtt_password` (the IOC's service account), `mqtt_client_id`,
`mqtt_topic_prefix`; enable with `connectors = ["mqtt"]`. Needs the alerts module (its runtime stores readings
and events and runs the rules on them).

CLI: `toancanh mqtt credentials CODE` issues (or `--rotate`s) a device's login, shown once;
`toancanh mqtt broker-files --out DIR` writes the broker's password and ACL files.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from toancanh.connectors.mqtt.const import DOMAIN, LOGGER
from toancanh.core.connectors import Connector, Coordinator

log = logging.getLogger(LOGGER)
console = Console()
cli = typer.Typer(help="Thiết bị qua MQTT / devices over MQTT", no_args_is_help=True)


async def _setup(app: Any) -> Coordinator | None:
    from toancanh.connectors.mqtt.coordinator import MqttConfig, MqttCoordinator

    runtime = getattr(app.state, "alerts", None)
    if runtime is None:
        log.error('connector mqtt needs the alerts module (modules = [..., "alerts"]); not started')
        return None

    def ingest(items: list[dict[str, Any]]) -> Any:
        return runtime.ingest_readings(items, source="mqtt")

    coordinator = MqttCoordinator(
        MqttConfig.from_settings(app.state.settings),
        db=app.state.db,
        directory=runtime.directory,
        ingest_readings=ingest,
        record_events=runtime.record_events,
    )
    await coordinator.start()
    return coordinator


connector = Connector(
    name=DOMAIN,
    title_vi="Thiết bị qua MQTT",
    title_en="Devices over MQTT",
    setup=_setup,
    cli=cli,
)


# ---------------------------------------------------------------------------------------------- CLI


def _database() -> Any:
    from toancanh.core.db import Database
    from toancanh.settings import Settings

    settings = Settings()
    return settings, Database(settings.resolved_database_url)


def _fail(message: str) -> None:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(2)


@cli.command("credentials")
def credentials(
    asset_code: Annotated[str, typer.Argument(help="Mã thiết bị / the device's asset code")],
    heartbeat: Annotated[int, typer.Option(help="Giây im lặng tối đa / longest silence, seconds")] = 300,
    rotate: Annotated[bool, typer.Option(help="Cấp mật khẩu mới / issue a new secret")] = False,
) -> None:
    """Issue a device's MQTT login (user name = asset code); the password is shown once."""
    from sqlalchemy import select

    from toancanh.core.assets import Asset
    from toancanh.core.errors import AppError
    from toancanh.modules.alerts import devices

    settings, db = _database()
    try:
        with db.session() as s:
            asset = s.scalar(select(Asset).where(Asset.code == asset_code))
            if asset is None:
                _fail(f"Không có thiết bị mã {asset_code} / no asset with code {asset_code}")
                return
            username, secret = devices.issue_credentials(s, asset, heartbeat, rotate=rotate)
    except AppError as exc:
        _fail(f"{exc.message} / {exc.message_en}")
        return
    finally:
        db.dispose()
    prefix = settings.mqtt_topic_prefix.strip("/")
    console.print(f"username: {username}", highlight=False)
    console.print(f"password: {secret}", highlight=False)
    console.print(f"topics:   {prefix}/{username}/{{readings,heartbeat,alarm,status}}", highlight=False)
    console.print(
        "[yellow]Mật khẩu chỉ hiện một lần; ghi lại broker-files và nạp lại broker. / "
        "The password is shown only once; write the broker files again and reload the broker.[/yellow]"
    )


@cli.command("broker-files")
def broker_files(
    out: Annotated[Path, typer.Option(help="Thư mục ghi passwd và acl / folder for passwd and acl")],
    service_user: Annotated[str, typer.Option(help="Tài khoản của IOC / the IOC's own account")] = "",
    service_password: Annotated[
        str, typer.Option(help="Mật khẩu của tài khoản đó (mặc định: mqtt_password) / its password")
    ] = "",
) -> None:
    """Write Mosquitto's password file and ACL for every enabled device plus the IOC's service account."""
    from toancanh.core.errors import AppError
    from toancanh.modules.alerts import devices

    settings, db = _database()
    user = service_user or settings.mqtt_username or "toancanh"
    password = service_password or settings.mqtt_password
    if not password:
        _fail("Cần --service-password hoặc TOANCANH_MQTT_PASSWORD / give --service-password")
    try:
        with db.session() as s:
            prefix = settings.mqtt_topic_prefix.strip("/")
            passwd, acl = devices.broker_files(s, user, password, prefix=prefix)
    except AppError as exc:
        _fail(f"{exc.message} / {exc.message_en}")
        return
    finally:
        db.dispose()
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("passwd", passwd), ("acl", acl)):
        tmp = out / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        tmp.replace(out / name)  # the broker never reads a half-written file
    devices_n = passwd.count("\n") - 1
    console.print(f"[green]OK[/green] {out / 'passwd'}, {out / 'acl'}: {devices_n} thiết bị/devices + {user}")
    console.print("Nạp lại broker / reload the broker: kill -HUP $(pidof mosquitto)")
