"""`toancanh ...`: serve, demo, database, units, users. Modules add their own sub-commands."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from toancanh.settings import Settings

app = typer.Typer(
    help="Toàn Cảnh — Trung tâm Điều hành thông minh (Intelligent Operations Center)", no_args_is_help=True
)
db_app = typer.Typer(help="Cơ sở dữ liệu / database", no_args_is_help=True)
units_app = typer.Typer(help="Đơn vị hành chính / administrative units", no_args_is_help=True)
user_app = typer.Typer(help="Người dùng / users", no_args_is_help=True)
retention_app = typer.Typer(help="Thời hạn lưu trữ / data retention", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(units_app, name="units")
app.add_typer(user_app, name="user")
app.add_typer(retention_app, name="retention")
console = Console()


def _settings(**overrides: Any) -> Settings:
    return Settings(**overrides)


def _database(settings: Settings) -> Any:
    from toancanh.core.db import Database

    return Database(settings.resolved_database_url)


def _fail(message: str) -> NoReturn:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Upgrade the database schema (SQLite or PostgreSQL) to the newest revision."""
    from toancanh.core.migrate import upgrade

    s = _settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(s.resolved_database_url, revision)
    console.print(f"[green]OK[/green] {s.resolved_database_url.split('@')[-1]} → {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    from toancanh.core.migrate import current

    console.print(current(_settings().resolved_database_url) or "(empty)")


@units_app.command("import")
def units_import(
    province: Annotated[list[str] | None, typer.Option("--province", "-p", help="Mã tỉnh, e.g. 01")] = None,
    all_: Annotated[bool, typer.Option("--all", help="All 34 provinces")] = False,
) -> None:
    """Load the official 2025 list of provinces and communes (vietnam-provinces)."""
    from toancanh.core.errors import AppError
    from toancanh.core.units import import_official_units

    if not province and not all_:
        _fail("Give --province CODE (repeatable) or --all")
    db = _database(_settings())
    try:
        with db.session() as s:
            n_prov, n_comm = import_official_units(s, None if all_ else province)
    except AppError as exc:
        _fail(f"{exc.message} / {exc.message_en}")
    console.print(f"[green]OK[/green] {n_prov} tỉnh/thành, {n_comm} xã/phường")


@units_app.command("boundaries")
def units_boundaries(
    path: Path,
    code_property: Annotated[str, typer.Option(help="Feature property holding the unit code")] = "code",
) -> None:
    """Attach boundaries from a GeoJSON FeatureCollection to units, matched by code."""
    from toancanh.core.geo import GeoError, shape_from_geojson
    from toancanh.core.units import Unit

    try:
        fc = json.loads(path.read_text(encoding="utf-8"))
        features = fc["features"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _fail(f"Không đọc được GeoJSON / cannot read GeoJSON: {exc}")
        return
    from sqlalchemy import select

    db = _database(_settings())
    done, missing = 0, []
    with db.session() as s:
        for f in features:
            code = str((f.get("properties") or {}).get(code_property, ""))
            try:
                shape = shape_from_geojson(f.get("geometry") or {})
            except GeoError as exc:
                _fail(f"{code}: {exc}")
                return
            unit = s.scalar(select(Unit).where(Unit.code == code))
            if unit is None:
                missing.append(code)
                continue
            unit.boundary = f["geometry"]
            c = shape.centroid
            unit.lat, unit.lon = c.y, c.x
            done += 1
    console.print(
        f"[green]OK[/green] {done} ranh giới / boundaries; {len(missing)} mã không có / unknown codes"
    )


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[str, typer.Option(help="admin | leader | operator | agency_staff | viewer | citizen")],
    unit: Annotated[str | None, typer.Option(help="Mã đơn vị (unit code); omit for every unit")] = None,
    domain: Annotated[list[str] | None, typer.Option(help="Limit to a domain (repeatable)")] = None,
    full_name: str = "",
    password: Annotated[str | None, typer.Option(help="Omit to be asked")] = None,
) -> None:
    """Create a user with one grant (role over a unit subtree, optionally limited to domains)."""
    from toancanh.core.auth.service import create_user
    from toancanh.core.errors import AppError

    if password is None:
        password = typer.prompt("Mật khẩu / password", hide_input=True, confirmation_prompt=True)
    db = _database(_settings())
    try:
        with db.session() as s:
            create_user(s, username, password, role=role, unit_code=unit, domains=domain, full_name=full_name)
    except AppError as exc:
        _fail(f"{exc.message} / {exc.message_en}")
    console.print(f"[green]OK[/green] {username} ({role})")


@user_app.command("apikey")
def user_apikey(username: str, name: str) -> None:
    """Issue an API key for a (service) user; the key is printed once."""
    from sqlalchemy import select

    from toancanh.core.auth.models import User
    from toancanh.core.auth.service import create_api_key

    db = _database(_settings())
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == username.lower()))
        if user is None:
            _fail("Không có người dùng / no such user")
            return
        raw, _ = create_api_key(s, user, name)
    console.print(raw)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from toancanh.app import create_app
    from toancanh.core.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=max(1, math.ceil(settings.shutdown_grace_s)),
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
) -> None:
    """Run the IOC web server (upgrades the database first)."""
    _serve(_settings(), host, port)


@app.command()
def worker(
    host: Annotated[str, typer.Option(help="Address for the health checks")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for /healthz, /readyz and /metrics")] = 8091,
) -> None:
    """Run a worker: connectors, rules and periodic jobs under leases shared with the other workers
    (answers only health checks over HTTP)."""
    _serve(_settings(role="worker"), host, port)


def _demo_outboxes(settings: Settings) -> dict[str, str]:
    """The demo's message channels where none is configured: files in data_dir/notifications/ (offline)."""
    folder = (settings.data_dir / "notifications").resolve()
    out = {}
    for kind in ("sms", "zalo"):
        if not getattr(settings, f"{kind}_gateway"):
            out[f"{kind}_gateway"] = f"file:{folder / f'{kind}.jsonl'}"
    if not settings.smtp_host and not settings.email_file:
        out["email_file"] = str(folder / "email.jsonl")
    return out


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    reset: Annotated[bool, typer.Option("--reset", help="Delete the demo data and start over")] = False,
    serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server after seeding")] = True,
) -> None:
    """Load the Xã Đại Thanh demo (synthetic geography, real codes) and start the IOC with the simulator."""
    from toancanh.demo.seed import DEMO_OPEN311_KEY, DEMO_PASSWORDS, seed_demo

    settings = _settings()
    if "TOANCANH_SIMULATOR" not in os.environ:  # the demo simulates unless told otherwise
        settings = settings.model_copy(update={"simulator": True})
    outboxes = _demo_outboxes(settings)
    settings = settings.model_copy(update=outboxes)
    from toancanh.core.migrate import downgrade, upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if reset:
        if settings.database_url:
            downgrade(settings.resolved_database_url, "base")
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{settings.data_dir / 'toancanh.db'}{suffix}").unlink(missing_ok=True)
    upgrade(settings.resolved_database_url)
    db = _database(settings)
    created = seed_demo(db)
    console.print(
        ("[green]Đã tạo dữ liệu mẫu[/green]" if created else "Dữ liệu mẫu đã có sẵn") + " — Xã Đại Thanh"
    )
    console.print(f"Mở / open: http://{host}:{port}/")
    for user, (pw, role) in DEMO_PASSWORDS.items():
        console.print(f"  {role:<13} {user:<12} {pw}")
    console.print(f"  Open311 API key: {DEMO_OPEN311_KEY}", highlight=False, soft_wrap=True)
    if outboxes:
        console.print("Tin nhắn SMS, Zalo, e-mail của bản demo / the demo's messages:", highlight=False)
        for path in outboxes.values():
            console.print(f"  {path.removeprefix('file:')}", highlight=False, soft_wrap=True)
    db.dispose()
    if serve_:
        _serve(settings, host, port)


@app.command()
def backup(
    out: Annotated[
        Path | None, typer.Option("--out", help="Archive path (default data_dir/backups/toancanh-<time>.tar)")
    ] = None,
) -> None:
    """Back up the database and the blob store into one consistent archive (sao lưu)."""
    from datetime import UTC, datetime

    from toancanh.core.backup import BackupError
    from toancanh.core.backup import backup as make_backup

    s = _settings()
    target = out or s.data_dir / "backups" / f"toancanh-{datetime.now(UTC):%Y%m%d-%H%M%S}.tar"
    try:
        m = make_backup(s.resolved_database_url, s.data_dir, target)
    except BackupError as exc:
        _fail(f"{exc} / {exc.message_en}")
    console.print(
        f"[green]OK[/green] {target}: {len(m.tables)} bảng/tables, {m.rows:,} dòng/rows, "
        f"{m.blobs:,} tệp/files ({m.blob_bytes / 1e6:.1f} MB), revision {m.revision}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="A backup archive made by `toancanh backup`")],
    check: Annotated[bool, typer.Option("--check", help="Only check the archive; change nothing")] = False,
) -> None:
    """Restore a backup into an empty database and data directory, then verify every table (phục hồi)."""
    from toancanh.core.backup import BackupError, read_manifest
    from toancanh.core.backup import restore as do_restore
    from toancanh.core.migrate import current

    s = _settings()
    try:
        m = read_manifest(archive) if check else do_restore(archive, s.resolved_database_url, s.data_dir)
    except BackupError as exc:
        _fail(f"{exc} / {exc.message_en}")
    verb = "kiểm tra / checked" if check else "phục hồi và đối chiếu / restored and verified"
    console.print(
        f"[green]OK[/green] {verb}: {len(m.tables)} bảng/tables, {m.rows:,} dòng/rows, "
        f"{m.blobs:,} tệp/files, "
        f"revision {m.revision} ({m.created_at})",
        highlight=False,
        soft_wrap=True,
    )
    if not check:
        console.print(
            f"Lược đồ / schema: {current(s.resolved_database_url)}; chạy `toancanh db upgrade` nếu cần"
        )


@retention_app.command("show")
def retention_show() -> None:
    """Print how long each kind of data is kept (days; 0 = forever)."""
    from toancanh.core.retention import periods

    for kind, days in periods(_settings()).items():
        console.print(f"{kind:<10} {days if days else 'mãi mãi / forever'}", highlight=False)


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; change nothing")] = False,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only this kind (repeatable)")] = None,
) -> None:
    """Purge the data past its retention period now (the app also does it on a schedule); audited."""
    from toancanh.app import load_modules
    from toancanh.core.retention import KINDS, module_rules, purge

    bad = [k for k in kind or [] if k not in KINDS]
    if bad:
        _fail(f"Loại không hợp lệ / unknown kind: {', '.join(bad)} (có / valid: {', '.join(KINDS)})")
    s = _settings()
    rules, holds = module_rules(load_modules(s.modules))
    db = _database(s)
    try:
        results = purge(db, s, rules, holds, dry_run=dry_run, kinds=kind or None)
    finally:
        db.dispose()
    verb = "sẽ xoá / would go" if dry_run else "đã xoá / removed"
    for r in results:
        console.print(
            f"{r.kind:<10} {r.name:<28} {r.removed:>10,} {verb} (< {r.cutoff:%Y-%m-%d})", highlight=False
        )


def main() -> None:
    _add_module_clis()
    app()


def _add_module_clis() -> None:
    try:
        from toancanh.app import load_modules

        for m in load_modules(Settings().modules):
            if m.cli is not None:
                app.add_typer(m.cli, name=m.name)
    except Exception as exc:  # a broken module must not take the CLI down with it
        console.print(f"[yellow]modules not loaded: {exc}[/yellow]")
    try:  # every connector's commands, enabled or not (credentials are made before a broker is wired)
        import pkgutil

        import toancanh.connectors
        from toancanh.app import load_connectors

        names = [i.name for i in pkgutil.iter_modules(toancanh.connectors.__path__)]
        for c in load_connectors(names):
            if c.cli is not None:
                app.add_typer(c.cli, name=c.name)
    except Exception as exc:
        console.print(f"[yellow]connectors not loaded: {exc}[/yellow]")
