"""Schema migrations: one Alembic history that upgrades an empty SQLite or PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(url: str, revision: str = "head", engine: Engine | None = None) -> None:
    command.upgrade(alembic_config(url, engine), revision)


def downgrade(url: str, revision: str, engine: Engine | None = None) -> None:
    command.downgrade(alembic_config(url, engine), revision)


def current(url: str, engine: Engine | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from toancanh.core.db import make_engine

    eng = engine or make_engine(url)
    with eng.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
