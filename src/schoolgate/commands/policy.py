"""`schoolgate policy validate|render|compile`: check a policy file, print it as a document, or
compile it into the snapshot the running gateway watches.

`compile` writes the snapshot atomically (temporary file, fsync, rename), so the DNS resolver,
proxy and pages server (`schoolgate serve`, `SnapshotHolder`) pick the edited policy up within a
second, without a restart; an invalid policy is refused with every problem (file:line, field) and
the running snapshot stays as it was (STM-315: changes go through one controlled step).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from schoolgate.commands._snapshots import add_data_root_argument, cached_snapshot, data_root_from
from schoolgate.engine.policy.loader import PolicyError, load_policy
from schoolgate.engine.policy.render import render_html, render_markdown, write_documents


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("policy", help="validate or render a school's policy file")
    actions = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)

    validate = actions.add_parser("validate", help="report every problem with file, line, field")
    validate.add_argument("file", type=Path)
    validate.set_defaults(func=run_validate)

    render = actions.add_parser("render", help="write the policy as a readable document")
    render.add_argument("file", type=Path)
    render.add_argument("--format", choices=["markdown", "html"], default="markdown")
    render.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
    render.add_argument(
        "--output-dir", type=Path, help="write <id>.md and <id>.html into this folder"
    )
    render.set_defaults(func=run_render)

    compile_ = actions.add_parser(
        "compile", help="compile into the snapshot a running gateway reloads (no restart)"
    )
    compile_.add_argument("file", type=Path)
    compile_.add_argument(
        "--lists",
        type=Path,
        action="append",
        metavar="DIR",
        help="a list folder or manifest, as given to `schoolgate serve`; may be repeated",
    )
    add_data_root_argument(compile_)
    compile_.add_argument(
        "--output", "-o", type=Path, default=Path("var/snapshot.sgs"), help="%(default)s"
    )
    compile_.set_defaults(func=run_compile)


def run_validate(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.file)
    except PolicyError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{args.file}: {len(error.problems)} problem(s); nothing loaded", file=sys.stderr)
        return 1
    print(
        f"{args.file}: valid policy for {policy.school.name} — {len(policy.groups)} groups, "
        f"{len(policy.rules)} access rules, {len(policy.sites)} site lists, "
        f"{len(policy.keyword_rules)} keyword rules, {len(policy.sanctions)} sanction matrices"
    )
    return 0


def run_render(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.file)
    except PolicyError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    if args.output_dir is not None:
        for path in write_documents(policy, args.output_dir):
            print(path)
        return 0
    text = render_html(policy) if args.format == "html" else render_markdown(policy)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def run_compile(args: argparse.Namespace) -> int:
    lists = args.lists or []
    try:
        snapshot = cached_snapshot(args.file, lists, data_root=data_root_from(args))
    except PolicyError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{args.file}: not compiled; {args.output} is unchanged", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"schoolgate policy compile: {error}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save(args.output)
    print(
        f"{args.output}: {snapshot.policy.school.name}, {len(snapshot.index.domains):,} listed "
        f"domains; running services reload it within a second"
    )
    return 0
