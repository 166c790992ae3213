"""How long a piece of work takes, for the benchmark commands: wall clock and CPU time of the process.

Pure and dependency-free. Seconds are floats here on purpose: they are measurements, never money. On a busy
machine the wall clock waits for other processes; the CPU time (every thread of this process) does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds, result) of one call of ``fn``."""
    started, started_cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - started, time.process_time() - started_cpu, result


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """The fastest of ``repeat`` calls of ``fn`` — wall clock and CPU time, each its own minimum — and the last
    result."""
    runs = [timed(fn) for _ in range(max(1, repeat))]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[-1][2]
