from __future__ import annotations

from decimal import Decimal

import pytest

from salesops.engine.money import RoundingPolicy, format_money, round_money, to_decimal

D = Decimal


@pytest.mark.parametrize(("value", "policy", "expected"), [
    ("2.345", RoundingPolicy.HALF_UP, "2.35"),
    ("-2.345", RoundingPolicy.HALF_UP, "-2.35"),
    ("2.345", RoundingPolicy.HALF_EVEN, "2.34"),
    ("2.355", RoundingPolicy.HALF_EVEN, "2.36"),
    ("2.349", RoundingPolicy.DOWN, "2.34"),
    ("2.341", RoundingPolicy.UP, "2.35"),
])
def test_it_rounds_by_the_named_policy(value, policy, expected):
    assert round_money(D(value), policy) == D(expected)


def test_it_rounds_half_up_by_default():
    assert round_money(D("0.125")) == D("0.13")


def test_it_refuses_floats():
    with pytest.raises(TypeError):
        to_decimal(0.1)


def test_it_reads_amounts_with_thousands_separators():
    assert to_decimal("1,234.50") == D("1234.50")
    with pytest.raises(ValueError, match="not a number"):
        to_decimal("12abc")


def test_it_formats_yuan_and_wan():
    assert format_money(D("1234567.891")) == "¥1,234,567.89"
    assert format_money(D("1234567"), unit="wan") == "¥123.46万"
    assert format_money(D("-50")) == "-¥50.00"
