"""Small helpers to build the compensation engine's columnar inputs from rows, for the tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from salesops.engine.comp import calc

D = Decimal


def line(line_id, date, net, *, product="P1", category="C1", customer="K1", region="R1", segment="S1", quantity=1,
         cost=0, original=None):
    return {"line_id": line_id, "date": dt.date.fromisoformat(date), "customer": customer, "product": product,
            "category": category, "region": region, "segment": segment, "quantity": D(quantity), "net": D(net),
            "cost": D(cost), "original_line_id": original}


def inputs(lines, credits, payees, hierarchy=(), quotas=()):
    """``credits``: (line_id, payee, percent); ``hierarchy``: (payee, manager[, from, to]); ``quotas``:
    (payee, component, period, quota)."""
    return calc.CompInputs.from_lines(
        lines=pa.Table.from_pylist(list(lines), calc.RETURNS_LINE_SCHEMA),
        credits=pa.Table.from_pylist([{"line_id": i, "payee": p, "share": D(pct) / 100} for i, p, pct in credits],
                                     calc.CREDIT_SCHEMA),
        payees=pa.Table.from_pylist([{"payee": p, "name": p} for p in payees], calc.PAYEE_SCHEMA),
        hierarchy=pa.Table.from_pylist([
            {"payee": h[0], "manager": h[1], "valid_from": dt.date.fromisoformat(h[2]) if len(h) > 2 else dt.date.min,
             "valid_to": dt.date.fromisoformat(h[3]) if len(h) > 3 and h[3] else None} for h in hierarchy],
            calc.HIERARCHY_SCHEMA),
        quotas=pa.Table.from_pylist([{"payee": p, "component": c, "period": code, "quota": D(q)}
                                     for p, c, code, q in quotas], calc.QUOTA_SCHEMA),
    )
