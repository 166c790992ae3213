"""Money: exact amounts, one rounding helper, named rounding policies.

Pure. All amounts are ``decimal.Decimal``; floats are refused, because a float has already lost the cents
("never use floating-point in an accounting system"). Rounding happens once, at a documented point, with a
named policy; the default is 四舍五入 (round half up), not Python's or Polars' half-even.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from enum import StrEnum


class RoundingPolicy(StrEnum):
    """How a computed amount is brought to the currency's minor unit."""

    HALF_UP = "half_up"  # 四舍五入: 2.345 -> 2.35, -2.345 -> -2.35
    HALF_EVEN = "half_even"  # 银行家舍入: 2.345 -> 2.34
    DOWN = "down"  # 截断 toward zero
    UP = "up"  # away from zero

    @property
    def decimal_mode(self) -> str:
        return _MODES[self]


_MODES = {
    RoundingPolicy.HALF_UP: decimal.ROUND_HALF_UP,
    RoundingPolicy.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    RoundingPolicy.DOWN: decimal.ROUND_DOWN,
    RoundingPolicy.UP: decimal.ROUND_UP,
}

DEFAULT_POLICY = RoundingPolicy.HALF_UP
CENT = Decimal("0.01")
WAN = Decimal("10000")  # 万


def to_decimal(value: object) -> Decimal:
    """Build an exact Decimal from an int, str or Decimal; refuse floats and junk with a clear message."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite amount: {value}")
        return value
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"refusing inexact value {value!r}: pass a str, int or Decimal")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "")
        try:
            result = Decimal(text)
        except decimal.InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
        if not result.is_finite():
            raise ValueError(f"not a finite amount: {value!r}")
        return result
    raise TypeError(f"cannot make an amount of {type(value).__name__}")


def round_money(
    amount: Decimal, policy: RoundingPolicy | str = DEFAULT_POLICY, quantum: Decimal = CENT
) -> Decimal:
    """Round ``amount`` to ``quantum`` (the minor unit by default) with ``policy``. The one rounding point."""
    return to_decimal(amount).quantize(quantum, rounding=RoundingPolicy(policy).decimal_mode)


def format_money(
    amount: Decimal,
    *,
    symbol: str = "¥",
    unit: str = "yuan",
    policy: RoundingPolicy | str = DEFAULT_POLICY,
    wan_label: str = "万",
) -> str:
    """Display text for an amount: ``¥1,234,567.89`` or, with unit ``wan``, ``¥123.46万``."""
    value = to_decimal(amount)
    if unit == "wan":
        shown = round_money(value / WAN, policy, CENT)
        return f"{'-' if shown < 0 else ''}{symbol}{abs(shown):,.2f}{wan_label}"
    shown = round_money(value, policy, CENT)
    return f"{'-' if shown < 0 else ''}{symbol}{abs(shown):,.2f}"
