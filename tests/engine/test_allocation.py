from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.engine.allocation import allocate

D = Decimal
weights = st.lists(st.integers(0, 10_000), min_size=1, max_size=12).filter(lambda ws: sum(ws) > 0)


@given(st.integers(-10**12, 10**12), weights)
def test_parts_sum_exactly_and_stay_within_one_cent(cents, ws):
    total = D(cents) / 100
    parts = allocate(total, [D(w) for w in ws])
    assert sum(parts) == total
    for part, w in zip(parts, ws, strict=True):
        assert abs(part - total * w / sum(ws)) < D("0.01")


def test_it_breaks_ties_by_position():
    assert allocate(D("0.01"), [D(1), D(1)]) == [D("0.01"), D("0.00")]
    assert allocate(D("100.00"), [D(1), D(1), D(1)]) == [D("33.34"), D("33.33"), D("33.33")]


def test_it_refuses_negative_and_all_zero_weights():
    with pytest.raises(ValueError, match="negative"):
        allocate(D(1), [D(-1), D(2)])
    with pytest.raises(ValueError, match="zero"):
        allocate(D(1), [D(0)])
