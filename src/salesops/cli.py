"""The ``salesops`` console script: Django's management commands plus ours (demo, import, export, bench)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["salesops", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
