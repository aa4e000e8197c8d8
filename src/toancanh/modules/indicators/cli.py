"""`toancanh indicators ...`: load the default catalogue, send reminders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

cli = typer.Typer(help="Chỉ số điều hành / indicators", no_args_is_help=True)
console = Console()


@cli.command("load-catalogue")
def load_catalogue_cmd(
    path: Annotated[
        Path | None, typer.Option(help="Tệp YAML / a catalogue file (default: the built-in)")
    ] = None,
) -> None:
    """Load (or update) the indicator catalogue: data elements, indicators, datasets."""
    from toancanh.core.db import Database
    from toancanh.modules.indicators.catalogue import DEFAULT_CATALOGUE, load_catalogue
    from toancanh.settings import Settings

    settings = Settings()
    db = Database(settings.resolved_database_url)
    try:
        with db.session() as s:
            counts = load_catalogue(s, path or DEFAULT_CATALOGUE)
    finally:
        db.dispose()
    console.print(
        f"Đã nạp danh mục / catalogue loaded: {counts['data_elements']} phần tử dữ liệu / data elements, "
        f"{counts['indicators']} chỉ số / indicators, {counts['datasets']} biểu mẫu / datasets"
    )
