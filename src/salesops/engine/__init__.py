"""The pure calculation core of salesops.

Role in the flow: the Django apps load rows from the database, hand plain values (Decimals, dates, Polars
frames) to the engine, and store what it returns. The engine imports nothing from Django or the apps (an
import-linter contract in pyproject.toml enforces it), so the same code runs in a CLI over files, in tests,
or on a distributed engine over partitions.

Invariants: money is ``Decimal`` (never float); rounding happens once, through ``money.round_money`` with a
named policy; functions never mutate their inputs.
"""
