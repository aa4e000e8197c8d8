"""``python -m bench`` runs every bench; ``python -m bench NAME [NAME ...] [--flags]`` runs the named ones,
with the flags their scripts take (e.g. ``python -m bench cluster_load --seconds 20``)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from bench._common import emit_json


def available() -> list[str]:
    """Bench names: the modules of this package that are not helpers."""
    folder = str(Path(__file__).parent)
    return sorted(m.name for m in pkgutil.iter_modules([folder]) if not m.name.startswith("_"))


def run_one(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    emit_json(name, module.run())


def main(argv: list[str]) -> int:
    # Names come first; what follows the first flag is the benches' own options (each parses sys.argv).
    first_flag = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names = argv[:first_flag] or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown bench: {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        try:
            run_one(name)
        except Exception:
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
