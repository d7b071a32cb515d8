"""The demo school's devices: loopback addresses filtered as different groups.

On Linux every 127.x.y.z address reaches this machine, so `curl --interface 127.0.0.3 -x …`
arrives at the proxy from 127.0.0.3, which the bindings file maps to a group. `schoolgate demo`
signs their agreements and prints a ready `curl` line for each; the staff app's
`demo_devices` command creates them as console devices and publishes them. Anything else on
this machine (127.0.0.1) stays an unidentified device: the policy's default group.
"""

from __future__ import annotations

from dataclasses import dataclass

from schoolgate.engine.policy.schema import Policy


@dataclass(frozen=True)
class DemoDevice:
    address: str
    name: str
    group: str


def demo_devices(policy: Policy) -> list[DemoDevice]:
    pupils = [g for g in policy.groups if g.kind == "pupil" and not g.walled_garden]
    staff = [g for g in policy.groups if g.kind == "staff"]
    adults = [g for g in policy.groups if g.kind in {"visitor", "community", "volunteer"}]
    wanted = [
        ("127.0.0.2", "Demo: Year 5 laptop", pupils),
        ("127.0.0.3", "Demo: staff laptop", staff),
        ("127.0.0.4", "Demo: visitor's phone", adults),
    ]
    return [DemoDevice(address, name, groups[0].id) for address, name, groups in wanted if groups]
