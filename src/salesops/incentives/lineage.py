"""The per-line lineage of a run: which order lines, credited to whom and at which roll-up level, each person's
measures were made of. Kept per person as a zstd-compressed Arrow IPC stream (``PayoutLineage``) and read back
only for that person's drill-down — the engine produces it with the run, so the "why" is what was calculated,
not a recomputation over data that may have changed since."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from salesops.incentives.models import CalculationRun, PayoutLineage
from salesops.org.models import Salesperson

_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")


def _encode(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_OPTIONS) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def store(run: CalculationRun, credits: pa.Table) -> None:
    """Split the engine's credits table by payee (sorted once, sliced — no per-line Python) and store each."""
    if credits.num_rows == 0:
        return
    people = dict(Salesperson.objects.values_list("employee_no", "pk"))
    table = credits.sort_by([("payee", "ascending"), ("component", "ascending"), ("line_id", "ascending"),
                             ("level", "ascending")]).combine_chunks()
    payees = table.column("payee").chunk(0)
    ends = pc.run_end_encode(payees).run_ends.to_pylist()
    rows, start = [], 0
    body = table.drop_columns(["payee"])
    for end in ends:
        payee = payees[start].as_py()
        rows.append(PayoutLineage(run=run, salesperson_id=people[payee], rows=end - start,
                                  data=_encode(body.slice(start, end - start))))
        start = end
    PayoutLineage.objects.bulk_create(rows, batch_size=500)


def load(run_id: int, person_id: int) -> pa.Table | None:
    """The person's lineage in the run (component, line_id, seller, level, credit), or None if not kept."""
    row = PayoutLineage.objects.filter(run_id=run_id, salesperson_id=person_id).values_list("data", flat=True).first()
    if row is None:
        return None
    return pa.ipc.open_stream(pa.py_buffer(bytes(row))).read_all()
