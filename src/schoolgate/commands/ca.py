"""`schoolgate ca`: the school certificate authority for optional HTTPS inspection.

`ca init` creates it (the key file is mode 0600 and stays on the gateway); `ca export` writes
the certificate — never the key — as PEM or DER for installing on the school's devices
(docs/https-ca.md). See docs/https-limits.md for what inspection sees and what it never does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from schoolgate.gateway.tls.ca import CaError, create_ca, load_ca, write_ca


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ca", help="the school CA for optional HTTPS inspection")
    actions = parser.add_subparsers(dest="ca_command", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="create the school CA (once)")
    init.add_argument("--dir", type=Path, default=Path("var/ca"), help="where to keep it")
    init.add_argument("--school", required=True, help="the school's name, shown on devices")
    init.set_defaults(func=run_init)
    export = actions.add_parser("export", help="write the CA certificate for devices")
    export.add_argument("--dir", type=Path, default=Path("var/ca"))
    export.add_argument("--format", choices=("pem", "der"), default="pem")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    export.set_defaults(func=run_export)


def run_init(args: argparse.Namespace) -> int:
    try:
        cert_path, key_path = write_ca(create_ca(args.school), args.dir)
        ca = load_ca(args.dir)
    except (CaError, OSError) as exc:
        print(f"schoolgate ca init: {exc}", file=sys.stderr)
        return 1
    print(f"school CA certificate: {cert_path}")
    print(f"school CA key (mode 0600, never copy it off this machine): {key_path}")
    print(f"SHA-256 fingerprint: {ca.fingerprint()}")
    print("Install the certificate on devices: schoolgate ca export --format der -o school-ca.cer")
    return 0


def run_export(args: argparse.Namespace) -> int:
    try:
        ca = load_ca(args.dir)
    except CaError as exc:
        print(f"schoolgate ca export: {exc}", file=sys.stderr)
        return 1
    data = ca.certificate_der() if args.format == "der" else ca.certificate_pem()
    if args.output is None:
        if args.format == "der":
            print("schoolgate ca export: DER is binary; give -o FILE", file=sys.stderr)
            return 2
        sys.stdout.write(data.decode("ascii"))
        return 0
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({args.format.upper()}, fingerprint {ca.fingerprint()})")
    return 0
