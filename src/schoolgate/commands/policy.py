"""`schoolgate policy validate|render|compile`: check a policy file, print it as a document, or
compile it into the snapshot the running gateway watches.

`compile` writes the snapshot atomically (temporary file, fsync, rename), so the DNS resolver,
proxy and pages server (`schoolgate serve`, `SnapshotHolder`) pick the edited policy up within a
second, without a restart; an invalid policy is refused with every problem (file:line, field) and
the running snapshot stays as it was (STM-315: changes go through one controlled step).

`render` prints the dates the school's records give (`--approved`, `--approved-by`,
`--next-review`, or a `--records` file; the staff app's printed policy reads them from the
signed-off reviews instead), never the written policy's own old dates as current; without them
the document shows blanks to fill in. It also prints the DfE standard 1 register of who is
responsible for filtering and monitoring, from the policy's contacts.

    # records.yaml
    approved: 2026-03-12
    approved_by: J Smith, Principal
    next_review: 2027-03-12
    history:
      - {date: 2025-03-10, what: Annual review signed off by J Smith, Principal}
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import yaml

from schoolgate.app.reviews.register import printed_register, roles_register
from schoolgate.commands._snapshots import add_data_root_argument, cached_snapshot, data_root_from
from schoolgate.engine.policy.loader import PolicyError, load_policy
from schoolgate.engine.policy.render import (
    PrintRecords,
    render_html,
    render_markdown,
    write_documents,
)
from schoolgate.engine.policy.schema import Policy


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
    render.add_argument(
        "--approved",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="when the policy was last approved (the last signed-off review)",
    )
    render.add_argument(
        "--approved-by",
        default="",
        metavar="WHO",
        help='who signed it off, e.g. "J Smith, Principal"',
    )
    render.add_argument(
        "--next-review",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="when the next review is due",
    )
    render.add_argument(
        "--records",
        type=Path,
        metavar="FILE",
        help="a YAML file with approved, approved_by, next_review, history",
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


def read_records(path: Path) -> dict[str, object]:
    """A records file: `approved`, `approved_by`, `next_review` and `history` (date, what)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of approved, approved_by, next_review")
    unknown = sorted(set(data) - {"approved", "approved_by", "next_review", "history"})
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}")
    for key in ("approved", "next_review"):
        if data.get(key) is not None and not isinstance(data[key], date):
            raise ValueError(f"{path}: {key} must be a date like 2026-03-12")
    history = []
    for entry in data.get("history") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("date"), date):
            raise ValueError(f"{path}: each history entry needs a date and what happened")
        history.append((entry["date"], str(entry.get("what", ""))))
    data["history"] = tuple(history)
    return data


def print_records(args: argparse.Namespace, policy: Policy) -> PrintRecords:
    """The dates and names for the printed policy: the records file, then the flags over it."""
    data = read_records(args.records) if args.records else {}
    return PrintRecords(
        approved=args.approved or data.get("approved"),
        approved_by=args.approved_by or str(data.get("approved_by") or ""),
        next_review=args.next_review or data.get("next_review"),
        history=data.get("history", ()),
        responsible=printed_register(roles_register(policy)),
    )


def run_render(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.file)
        records = print_records(args, policy)
    except PolicyError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"schoolgate policy render: {error}", file=sys.stderr)
        return 1
    if args.output_dir is not None:
        for path in write_documents(policy, args.output_dir, records):
            print(path)
        return 0
    if args.format == "html":
        text = render_html(policy, records)
    else:
        text = render_markdown(policy, records)
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
