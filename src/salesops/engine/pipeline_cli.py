"""``salesops pipeline``: the sales-process analytics' commands, with no database.

- ``salesops pipeline bench [--opportunities 100000] [--by owner] [--repeat 5] [--seed 1]``: generate a CRM
  history (about five stage changes per deal) and time funnel, dwell, bottlenecks, velocity and the weighted
  pipeline (see :mod:`salesops.engine.pipeline_bench`).

Like ``salesops recommend``, it runs before Django is set up.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def _bench(args: argparse.Namespace) -> int:
    from salesops.engine import pipeline_bench

    if args.opportunities < 1 or args.repeat < 1:
        print("--opportunities and --repeat must be at least 1")
        return 1
    return pipeline_bench.main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="salesops pipeline", description="Sales-process analytics.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("bench", help="time funnel, dwell, bottlenecks, velocity and weighted pipeline")
    p.add_argument("--opportunities", type=int, default=100_000)
    p.add_argument("--by", choices=["company", "owner", "team", "region"], default="owner",
                   help="the grouping timed (default: by rep)")
    p.add_argument("--repeat", type=int, default=5, help="runs per figure; the best is shown")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)
