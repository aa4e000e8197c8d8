"""Alembic environment: the metadata of core and of every module, on SQLite or PostgreSQL."""

from __future__ import annotations

import importlib
import pkgutil

from alembic import context

import toancanh.core.assets
import toancanh.core.audit
import toancanh.core.auth.models
import toancanh.core.files
import toancanh.core.leases
import toancanh.core.outbox
import toancanh.core.timeseries
import toancanh.core.units
import toancanh.core.workflow  # noqa: F401  (tables join the metadata on import)
from toancanh.core.db import Base, make_engine


def _import_module_models() -> None:
    # Every module's tables belong to the one history, whether or not the module is enabled.
    try:
        pkg = importlib.import_module("toancanh.modules")
    except ImportError:
        return
    for info in pkgutil.iter_modules(pkg.__path__):
        try:
            importlib.import_module(f"toancanh.modules.{info.name}.models")
        except ModuleNotFoundError:
            continue


_import_module_models()
config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Several replicas starting at once: one migrates, the others wait and then find nothing to do.
            # A transaction-level lock, released with the migration's commit.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7419001)")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
