"""`toancanh cameras ...`: ONVIF discovery from the command line."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from toancanh.modules.cameras import onvif
from toancanh.settings import Settings

cli = typer.Typer(help="Camera: dò tìm ONVIF / cameras: ONVIF discovery", no_args_is_help=True)


@cli.command()
def discover(
    address: str = typer.Option("", help="host:port of the probe (default: the onvif_probe_address setting)"),
    timeout: float = typer.Option(0.0, help="seconds to wait for answers (default: onvif_timeout_s)"),
) -> None:
    """Send a WS-Discovery probe and list the ONVIF video devices that answer."""
    s = Settings()
    found = onvif.discover(address or s.onvif_probe_address, timeout or s.onvif_timeout_s)
    table = Table("host", "name", "hardware", "location", "service address")
    for d in found:
        table.add_row(d.host, d.name, d.hardware, d.location, d.xaddrs[0] if d.xaddrs else "")
    Console().print(table)
    Console().print(f"{len(found)} thiết bị / devices")
