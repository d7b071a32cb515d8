"""`schoolgate check`: what happens when this person visits this address at this moment."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from schoolgate.commands._snapshots import add_snapshot_arguments, snapshot_from_arguments
from schoolgate.engine.decide import Decider, Decision, Subject
from schoolgate.engine.lists.importers import ListFormatError
from schoolgate.engine.policy.loader import PolicyError
from schoolgate.engine.snapshot import SnapshotError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="decide on one address, or a batch of JSON lines on stdin",
        description=(
            "Print the decision for TARGET (a URL or host name). With --batch, read JSON lines "
            '{"group": ..., "at": ..., "target": ..., "agreement": true, "nominated": false} '
            "from stdin and write one JSON decision per line."
        ),
    )
    add_snapshot_arguments(parser)
    parser.add_argument("--group", help="the user's group (default: the policy's default group)")
    parser.add_argument("--user", help="the user name, for the record")
    parser.add_argument("--at", type=_local_time, help="school local time, e.g. 2026-11-24T10:30")
    parser.add_argument("--no-agreement", action="store_true", help="the user has not signed")
    parser.add_argument("--nominated", action="store_true", help="the user is a nominated user")
    parser.add_argument("--json", action="store_true", help="print the decision as JSON")
    parser.add_argument("--batch", action="store_true", help="read JSON lines from stdin")
    parser.add_argument("target", nargs="?", help="URL or host name")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.batch == (args.target is not None):
        print("schoolgate check: give either TARGET or --batch", file=sys.stderr)
        return 2
    try:
        decider = Decider(snapshot_from_arguments(args))
    except PolicyError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    except (ListFormatError, SnapshotError) as error:
        print(f"schoolgate check: {error}", file=sys.stderr)
        return 1
    if args.batch:
        return run_batch(decider, sys.stdin, sys.stdout)
    subject = Subject(
        group=args.group,
        user=args.user,
        agreement=not args.no_agreement,
        nominated=args.nominated,
    )
    try:
        decision = decider.decide(subject, args.target, args.at or datetime.now(UTC))
    except (ValueError, LookupError) as error:
        print(f"schoolgate check: {error}", file=sys.stderr)
        return 2
    print(json.dumps(decision.to_dict()) if args.json else describe(decision))
    return 0


_ENCODER = json.JSONEncoder(ensure_ascii=False)
"""One encoder for the whole batch: `json.dumps` with options builds a new one per call."""


def run_batch(decider: Decider, lines: TextIO, out: TextIO) -> int:
    times: dict[str, datetime] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            result: dict[str, Any] = _decide_line(decider, line, times).to_dict()
        except Exception as error:  # one bad line must never stop the batch
            result = {"error": str(error) or type(error).__name__, "line": number}
        out.write(_ENCODER.encode(result) + "\n")
    out.flush()
    return 0


def _decide_line(decider: Decider, line: str, times: dict[str, datetime]) -> Decision:
    request = json.loads(line)
    if not isinstance(request, dict):
        raise ValueError("each line must be a JSON object")
    target = request.get("target")
    if not isinstance(target, str) or not target:
        raise ValueError("missing or empty 'target'")
    subject = Subject(
        group=request.get("group"),
        user=request.get("user"),
        agreement=_flag(request, "agreement", True),
        nominated=_flag(request, "nominated", False),
    )
    return decider.decide(subject, target, _batch_time(request.get("at"), times))


def _batch_time(at: Any, times: dict[str, datetime]) -> datetime:
    """Lines of a batch mostly share a few moments: each distinct one is parsed once; lines
    without one are decided for the moment the first of them was read (one clock reading)."""
    if not at:
        now = times.get("")
        if now is None:
            now = times[""] = datetime.now(UTC)
        return now
    moment = times.get(at) if isinstance(at, str) else None
    if moment is None:
        moment = _local_time(at)
        if len(times) < 10_000:
            times[at] = moment
    return moment


def _flag(request: dict[str, Any], key: str, default: bool) -> bool:
    value = request.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key!r} must be true or false")
    return value


def _local_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(
            f"'at' must be a date and time like 2026-11-24T10:30, not {text!r}"
        ) from None


def describe(decision: Decision) -> str:
    lines = [
        f"{decision.action.value.upper()}  {decision.target}",
        f"  group:      {decision.group}",
        f"  categories: {', '.join(decision.categories) or '(none)'}",
        f"  rule:       {decision.rule}",
        f"  alert:      {decision.alert.value}"
        + (f" (notify {', '.join(decision.notify)})" if decision.notify else ""),
    ]
    if decision.search:
        lines.append(f"  search:     {decision.search}")
    lines.append(f"  reason:     {decision.reason}")
    return "\n".join(lines)
