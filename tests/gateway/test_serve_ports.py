"""The demo must start on a machine where another program holds a default port (Debian's
`squid` package starts a system Squid on 3128); `serve` says which flags to use."""

from __future__ import annotations

import socket
from pathlib import Path

from schoolgate.commands.serve import ServeOptions, free_ports


def options(ports: dict[str, int]) -> ServeOptions:
    return ServeOptions(
        policy=Path("p.yaml"), lists=[], shared=Path("."), data_root=None, var=Path("var"),
        address="127.0.0.1", ports=ports, upstreams=[], app=True,
    )  # fmt: skip


def test_a_taken_port_is_replaced_and_said(capsys) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with socket.socket() as spare:
            spare.bind(("127.0.0.1", 0))
            free = spare.getsockname()[1]
        chosen = free_ports(options({"proxy": taken, "pages": free}))
        assert chosen.ports["pages"] == free
        assert chosen.ports["proxy"] != taken
        with socket.socket() as check:
            check.bind(("127.0.0.1", chosen.ports["proxy"]))
    assert f"port {taken} (proxy) is taken by another program" in capsys.readouterr().out
