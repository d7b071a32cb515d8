"""`schoolgate app <manage.py arguments>`: run the staff application's Django commands.

Examples: `schoolgate app migrate`, `schoolgate app demo-data`,
`schoolgate app runserver 127.0.0.1:8000`, `schoolgate app audit-verify`.
"""

from __future__ import annotations

import argparse
import os


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app", help="run a staff application (Django) command, e.g. migrate or demo-data"
    )
    parser.add_argument("django_args", nargs=argparse.REMAINDER, help="the command and options")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolgate.app.settings")
    from django.core.management import execute_from_command_line

    command = [a.replace("-", "_") if i == 0 else a for i, a in enumerate(args.django_args)]
    execute_from_command_line(["schoolgate app", *(command or ["help"])])
    return 0
