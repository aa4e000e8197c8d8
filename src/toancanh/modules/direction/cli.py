"""`toancanh direction ...`: recompute the indicator values fed from the tasks and the documents register."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

cli = typer.Typer(help="Chỉ đạo điều hành / direction and operation", no_args_is_help=True)
console = Console()


@cli.command("feed-indicators")
def feed_indicators_cmd(
    since: Annotated[
        str | None, typer.Option(help="Tháng đầu / first month (2026-01); default: last month")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Tháng cuối / last month; default: this month")] = None,
) -> None:
    """Recompute the TASK_* and EDOC_* indicator values of every unit for these months."""
    from toancanh.core.db import Database, utcnow
    from toancanh.core.errors import BadRequest
    from toancanh.modules.direction import figures
    from toancanh.settings import Settings

    now = utcnow()
    last, this = figures.recent_months(now)
    db = Database(Settings().resolved_database_url)
    try:
        months = figures.months_between(since or last, until or this)
        with db.session() as s:
            counts = figures.feed_months(s, months, now=now)
    except BadRequest as exc:
        console.print(f"[red]{exc.message} / {exc.message_en}[/red]")
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    console.print(
        f"{counts['months']} tháng / months: {counts['task_values']} số liệu nhiệm vụ / task values, "
        f"{counts['edocument_values']} số liệu văn bản / document values"
    )
