"""`schoolgate categories`: Schoolgate's category taxonomy and how UT1 names map onto it."""

from __future__ import annotations

import argparse

from schoolgate.engine.taxonomy import CATEGORIES, UT1_MAPPING


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("categories", help="list the category taxonomy")
    parser.add_argument("--ut1", action="store_true", help="show the UT1 mapping instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.ut1:
        for name, category in sorted(UT1_MAPPING.items()):
            print(f"{name:28} {category or '(not imported)'}")
        return 0
    for category in CATEGORIES.values():
        print(f"{category.id:22} {category.title}")
    return 0
