"""Benchmarks: one module per figure, ``python -m bench`` runs them all, ``python -m bench NAME`` runs one.

A bench is a module ``bench/<name>.py`` (names starting with ``_`` are helpers, not benches) with a
``run() -> dict`` function that measures, prints a human table with ``_common.print_table`` and returns its
figures. The runner then prints the figures as the last line of the bench's output: one JSON object,
``{"bench": "<name>", ...}``. Run one alone with ``python -m bench.<name>``, which ends in
``_common.main(__name__, run)``.

House rule: every headline figure is a ratio to a baseline measured in the same run on the same machine
(the raw database insert rate, the raw decode rate, ...), so it survives noisy and differently sized machines.
Raw rates may be reported next to it, but only ratios are compared across machines.
"""
