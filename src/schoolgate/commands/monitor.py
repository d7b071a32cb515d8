"""`schoolgate monitor`: the monitor — replay logs through the alert rules, or run it live.

    schoolgate monitor replay --policy FILE --lists DIR --log FORMAT:PATH [--log …] [--json]

prints one JSON alert per line on stdout (keys `user`, `address`, `theme`, `alert`, `count`,
`first`, `last`, `notify`, `events`, …) and, on stderr, a summary per log file: lines read,
parsed, ignored and bad, with the first bad lines as file:line: reason. FORMAT is one of
squid, squid-common, zeek-dns, zeek-http, zeek-ssl, dnsmasq, unbound, json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from schoolgate.commands._snapshots import add_snapshot_arguments, snapshot_from_arguments
from schoolgate.engine.decide import Decider
from schoolgate.engine.policy.loader import PolicyError
from schoolgate.monitor.logs import FORMATS
from schoolgate.monitor.replay import replay_logs

SHOWN_BAD_LINES = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "monitor",
        help="replay logs through the alert rules (and run the monitor)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="monitor_command", metavar="ACTION", required=True)
    replay = actions.add_parser("replay", help="replay logs, print one JSON alert per line")
    add_snapshot_arguments(replay)
    replay.add_argument(
        "--log",
        action="append",
        required=True,
        type=log_argument,
        metavar="FORMAT:PATH",
        help=f"a log to replay; FORMAT is one of {', '.join(FORMATS)}",
    )
    replay.add_argument("--json", action="store_true", help="print the summary as JSON too")
    replay.set_defaults(func=run_replay)


def log_argument(text: str) -> tuple[str, Path]:
    fmt, sep, path = text.partition(":")
    if not sep or fmt not in FORMATS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected FORMAT:PATH with FORMAT one of {', '.join(FORMATS)}"
        )
    if not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"{path!r}: no such file")
    return fmt, Path(path)


def run_replay(args: argparse.Namespace) -> int:
    try:
        decider = Decider(snapshot_from_arguments(args))
    except PolicyError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    result = replay_logs(decider, args.log)
    for alert in result.alerts:
        sys.stdout.write(json.dumps(alert.to_json(), ensure_ascii=False) + "\n")
    sys.stdout.flush()
    for report in result.reports:
        summary = report.summary()
        print(
            f"{summary['file']} ({summary['format']}): {summary['lines']} lines, "
            f"{summary['parsed']} parsed, {summary['ignored']} ignored, {summary['bad']} bad",
            file=sys.stderr,
        )
        for line in report.bad_lines[:SHOWN_BAD_LINES]:
            print(f"  {line}", file=sys.stderr)
        if args.json:
            print(json.dumps(summary), file=sys.stderr)
    print(f"{len(result.alerts)} alerts from {result.events} events", file=sys.stderr)
    return 0
