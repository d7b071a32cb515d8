"""Who is asking: subnets -> groups, login bindings -> users, hot reload of the bindings file."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from schoolgate.engine.decide import Subject
from schoolgate.gateway.identity import BindingError, BindingsEndpoint, Identity, parse_bindings
from schoolgate.gateway.site import Subnet

SUBNETS = [
    Subnet(network="10.20.0.0/16", group="pupils", title="pupil VLAN"),
    Subnet(network="10.20.9.0/24", group="sixth-form"),
    Subnet(network="fd00:20::/64", group="pupils"),
    Subnet(network="10.30.0.0/16", group="staff"),
]


def test_subnets_map_to_groups_most_specific_first() -> None:
    identity = Identity(SUBNETS)
    assert identity.identify("10.20.1.5") == Subject(group="pupils")
    assert identity.identify("10.20.9.5") == Subject(group="sixth-form")
    assert identity.identify("::ffff:10.30.0.8") == Subject(group="staff")
    assert identity.identify("fd00:20::42") == Subject(group="pupils")


def test_unknown_clients_get_no_group_so_the_policy_default_applies() -> None:
    identity = Identity(SUBNETS)
    assert identity.identify("192.168.1.1") == Subject()
    assert identity.identify("not an address") == Subject()


def test_bindings_file_is_read_and_reloaded_on_change(tmp_path: Path) -> None:
    path = tmp_path / "bindings.json"
    path.write_text(json.dumps({"10.20.1.5": {"user": "amy", "group": "sixth-form"}}))
    identity = Identity(SUBNETS, path, nominated_users=["investigator"])
    assert identity.identify("10.20.1.5") == Subject(group="sixth-form", user="amy")
    # A binding without a group keeps the subnet's group.
    path.write_text(json.dumps({"10.20.1.5": "investigator"}))
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    identity._next_check = 0  # skip the once-a-second recheck delay
    assert identity.identify("10.20.1.5") == Subject(
        group="pupils", user="investigator", nominated=True
    )


def test_broken_bindings_file_keeps_the_last_good_bindings(tmp_path: Path) -> None:
    path = tmp_path / "bindings.json"
    path.write_text(json.dumps({"10.20.1.5": "amy"}))
    identity = Identity(SUBNETS, path)
    path.write_text("{not json")
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    identity._next_check = 0
    assert identity.identify("10.20.1.5").user == "amy"


def test_bad_bindings_say_where() -> None:
    with pytest.raises(BindingError, match="f: 'nope' is not an IP address"):
        parse_bindings({"nope": "amy"}, "f")
    with pytest.raises(BindingError, match=r"f: 10\.0\.0\.1: expected a user name"):
        parse_bindings({"10.0.0.1": {"note": "x"}}, "f")
    with pytest.raises(BindingError, match=r"f: 10\.0\.0\.1: group must be a string"):
        parse_bindings({"10.0.0.1": {"group": 7}}, "f")


async def _http(port: int, request: bytes) -> tuple[int, dict]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _post(body: dict | bytes, token: str | None = None) -> bytes:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST /bindings HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


def test_bindings_endpoint_binds_persists_and_unbinds(tmp_path: Path) -> None:
    path = tmp_path / "var" / "bindings.json"
    identity = Identity(SUBNETS, path)

    async def scenario() -> None:
        endpoint = BindingsEndpoint(identity, token="s3cret")
        _, port = await endpoint.start("127.0.0.1:0")
        try:
            assert (await _http(port, _post({"address": "10.20.1.5", "user": "amy"})))[0] == 401
            status, _ = await _http(
                port, _post({"address": "10.20.1.5", "user": "amy", "group": "staff"}, "s3cret")
            )
            assert status == 200
            assert identity.identify("10.20.1.5") == Subject(group="staff", user="amy")
            # Another process (the proxy) reading the same file sees the binding.
            assert Identity(SUBNETS, path).identify("10.20.1.5").user == "amy"
            status, listed = await _http(
                port, b"GET /bindings HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n\r\n"
            )
            since = listed["10.20.1.5"].pop("since")  # the logon time (each-logon agreements)
            assert listed == {"10.20.1.5": {"user": "amy", "group": "staff"}}
            assert identity.logon_time("10.20.1.5").isoformat() == since
            status, error = await _http(port, _post({"address": "nope", "user": "x"}, "s3cret"))
            assert status == 400 and "not an IP address" in error["error"]
            assert (await _http(port, _post(b"{garbage", "s3cret")))[0] == 400
            await _http(port, _post({"address": "10.20.1.5", "user": None}, "s3cret"))
            assert identity.identify("10.20.1.5") == Subject(group="pupils")
        finally:
            await endpoint.close()

    asyncio.run(scenario())


def test_device_groups_and_address_ranges_from_the_bindings_file(tmp_path: Path) -> None:
    """What the staff app's console publishes: a device's group with no user, and address
    ranges, looked up after exact addresses and before the site's subnets."""
    path = tmp_path / "bindings.json"
    path.write_text(
        json.dumps(
            {
                "10.20.9.7": {"group": "staff"},
                "10.20.9.0/24": {"group": "pupil-ks2"},
                "10.20.9.128/25": {"group": "visitor"},
                "10.20.1.5": {"user": "jsmith"},
            }
        )
    )
    identity = Identity(SUBNETS, bindings_file=path)
    assert identity.identify("10.20.9.7") == Subject(group="staff")
    assert identity.identify("10.20.9.8") == Subject(group="pupil-ks2")
    assert identity.identify("10.20.9.200") == Subject(group="visitor")
    assert identity.identify("10.20.1.5") == Subject(group="pupils", user="jsmith")
    assert identity.identify("10.20.2.1") == Subject(group="pupils")
    assert parse_bindings({"10.1.2.3/16": {"group": "x"}}, "f") == {
        "10.1.0.0/16": parse_bindings({"10.1.0.0/16": {"group": "x"}}, "f")["10.1.0.0/16"]
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"10.0.0.0/33": {"group": "x"}}, "is not an IP address or address range"),
        ({"10.0.0.1": {}}, "expected a user name"),
        ({"10.0.0.1": {"user": ""}}, "user must be a non-empty string"),
    ],
)
def test_bad_device_bindings_say_where(data: dict, message: str) -> None:
    with pytest.raises(BindingError, match=message):
        parse_bindings(data, "bindings.json")
