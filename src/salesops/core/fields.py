"""MoneyField: Decimal in Python, integer minor units (分) in the database.

Why: SQLite has no exact decimal type (its NUMERIC affinity stores REAL), so sums drift. Storing integer
cents keeps every sum exact on SQLite and PostgreSQL alike, while forms, admin and the REST API still see
a Decimal field with two places. Do not do arithmetic on money columns in SQL other than SUM/compare.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from salesops.engine.money import CENT, round_money


class MoneyField(models.DecimalField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)

    def get_internal_type(self) -> str:
        return "BigIntegerField"

    def db_type(self, connection):
        return models.BigIntegerField().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if hasattr(value, "resolve_expression"):
            return value
        amount = self.to_python(value)
        if amount != amount.quantize(CENT):
            # Rounding belongs to the caller's named policy, never to a silent storage step.
            raise ValueError(f"{self.name}: {amount} has more than two decimal places; round it first")
        return int(amount * 100)

    def get_db_prep_save(self, value, connection):
        return self.get_db_prep_value(value, connection)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)

    def get_db_converters(self, connection):
        # Skip the backend's decimal converters (the column is an integer); keep ours.
        return [self.from_db_value]


def money(value) -> Decimal:
    """Round an amount to the minor unit with the default policy, for storage."""
    return round_money(value)


class ExactDecimalField(models.CharField):
    """A Decimal of any scale stored as its exact text (``1300000.00000000``): the unrounded figures of a
    calculation (measures, rates, earnings before the one rounding) must survive SQLite, whose NUMERIC affinity
    would turn them into floats. Compare and sum them in Python, not in SQL."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 80)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        return None if value is None or value == "" else Decimal(value)

    def to_python(self, value):
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(str(value)) if str(value) != "" else None

    def get_prep_value(self, value):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError(f"{self.name}: refusing the float {value!r}; pass a Decimal or a string")
        return f"{Decimal(value):f}"
