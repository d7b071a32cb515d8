"""One "who is asking" resolver for DNS, proxy, pages server and Squid helper (issue 9): the same
address and user give the same group, key, agreement state and nomination everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from schoolgate.engine.decide import Decider
from schoolgate.gateway.agreement_check import AgreementCheck
from schoolgate.gateway.asking import WhoIsAsking
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.proxy.records import SignatureStore
from schoolgate.gateway.proxy.users import DirectoryUser
from schoolgate.gateway.site import Subnet
from schoolgate.gateway.squid_helper import SquidHelper, parse_line
from tests.gateway.proxy_support import test_snapshot


def test_directory_user_binding_subnet_and_default(tmp_path: Path) -> None:
    decider = Decider(test_snapshot())
    identity = Identity([Subnet(network="10.1.0.0/16", group="staff")])
    identity.bind("10.2.0.5", "p.pupil", "pupils")
    users = {"t.teacher": DirectoryUser("t.teacher", "staff", "x")}
    who = WhoIsAsking(identity.identify, users=users)
    assert who.visitor("10.9.9.9", "t.teacher").key == "user:t.teacher"
    assert who.subject_at("10.9.9.9", decider, "t.teacher").group == "staff"
    bound = who.visitor("10.2.0.5")
    assert (bound.key, bound.user, bound.group) == ("user:p.pupil", "p.pupil", "pupils")
    assert who.subject_at("10.1.3.4", decider).group == "staff"
    unknown = who.visitor("192.0.2.7")
    assert unknown.key == "address:192.0.2.7"
    assert who.subject(unknown, decider).group == "pupils"  # the policy's default group


def test_the_squid_helper_now_sees_the_agreement(tmp_path: Path) -> None:
    decider = Decider(test_snapshot())
    identity = Identity([Subnet(network="10.3.0.0/16", group="newcomers")])
    signatures = SignatureStore(tmp_path / "signatures.jsonl")
    agreements = AgreementCheck(signatures=signatures)
    helper = SquidHelper(
        lambda: decider,
        "acl",
        "http://gate.test",
        identify=identity.identify,
        agreements=agreements,
    )
    request = parse_line("1 10.3.0.9 - GET http://allowed.test/\n", "acl")
    assert helper.subject(request, decider).agreement is False
    signatures.sign("address:10.3.0.9", "pupil-aup", decider.local_time(datetime.now(UTC)))
    assert helper.subject(request, decider).agreement is True
    dns_who = WhoIsAsking(identity.identify, agreements)
    assert dns_who.subject_at("10.3.0.9", decider) == helper.subject(request, decider)
