"""`schoolgate policy validate|render`: check a policy file, or print it as a document."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
