"""`schoolgate squid-ssl-bump`: the squid.conf lines for Squid's `ssl_bump` with the school CA,
generated from the policy's `https` section (gateway/tls/squid_bump.py; docs/squid-ssl-bump.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from schoolgate.engine.policy.loader import PolicyError, load_policy
from schoolgate.gateway.tls.squid_bump import CERTGEN, ssl_bump_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "squid-ssl-bump",
        help="print squid.conf lines for ssl_bump (squid-openssl) from the policy's https section",
    )
    parser.add_argument("--policy", type=Path, required=True)
    parser.add_argument("--ca", type=Path, default=Path("var/ca"), help="school CA folder")
    parser.add_argument("--http-port", default="3128", help="Squid's http_port (address:port)")
    parser.add_argument("--certificate-db", type=Path, default=Path("/var/lib/squid/ssl_db"))
    parser.add_argument("--certgen", type=Path, default=CERTGEN)
    parser.add_argument("--upstream-ca", type=Path, help="extra CA file trusted for origins")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        raise SystemExit(f"schoolgate: {exc}") from None
    print(
        ssl_bump_config(
            policy,
            http_port=args.http_port,
            ca_dir=args.ca.resolve(),
            certificate_db=args.certificate_db,
            certgen=args.certgen,
            upstream_ca_file=args.upstream_ca.resolve() if args.upstream_ca else None,
        ),
        end="",
    )
    return 0
