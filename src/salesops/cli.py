"""The ``salesops`` console script: Django's management commands plus ours (demo, import, export, bench).

``salesops targets ...``, ``salesops comp ...``, ``salesops recommend ...`` and ``salesops pipeline ...`` are
handed to ``salesops.engine.targets_cli``, ``salesops.engine.comp.cli``, ``salesops.engine.recommend_cli`` and
``salesops.engine.pipeline_cli`` before Django is set up, so target planning, compensation, recommendations and
the pipeline analytics' bench need no settings, secret key or database.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["targets"]:
        from salesops.engine.targets_cli import main as targets_main

        sys.exit(targets_main(args[1:]))
    if args[:1] == ["comp"]:
        from salesops.engine.comp.cli import main as comp_main

        sys.exit(comp_main(args[1:]))
    if args[:1] == ["recommend"]:
        from salesops.engine.recommend_cli import main as recommend_main

        sys.exit(recommend_main(args[1:]))
    if args[:1] == ["pipeline"]:
        from salesops.engine.pipeline_cli import main as pipeline_main

        sys.exit(pipeline_main(args[1:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["salesops", *args])


if __name__ == "__main__":
    main()
