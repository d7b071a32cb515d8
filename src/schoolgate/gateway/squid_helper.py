"""A Squid helper so an existing Squid filters with Schoolgate's policy.

Two of Squid's helper protocols, one request per line on stdin, one answer per line on stdout,
answered in order. A leading numeric channel ID (Squid's `concurrency=N`) is echoed back.

`acl` mode (recommended; works for HTTPS `CONNECT` too), for `external_acl_type`:

    external_acl_type schoolgate concurrency=50 ttl=0 %SRC %un %>rm %ru \
        /path/to/schoolgate squid-helper --mode acl --snapshot ... --pages-url http://PAGES \
        --state /var/lib/schoolgate/gateway   # the pages server's state: warn passes
    acl schoolgate_allows external schoolgate
    deny_info 302:http://PAGES/blocked?url=%u schoolgate_allows
    http_access deny !schoolgate_allows

    in:  `[ID] 10.1.2.3 j.smith GET http://example.com/x`     (Squid %-encodes each field)
    out: `[ID] OK` | `[ID] ERR message="<reason>" log="<rule>"`

`rewrite` mode, for `url_rewrite_program` (plain HTTP only: Squid cannot redirect a tunnel):

    in:  `[ID] http://example.com/x 10.1.2.3/- j.smith GET myip=... myport=...`
    out: `[ID] ERR` (unchanged) | `[ID] OK status=302 url="http://PAGES/blocked?..."`
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Literal
from urllib.parse import quote, unquote

from schoolgate.engine.decide import Decider, Decision, Subject, UnknownGroupError
from schoolgate.engine.policy.schema import Action
from schoolgate.engine.targets import TargetError, parse_target
from schoolgate.gateway.agreement_check import AgreementCheck
from schoolgate.gateway.asking import WhoIsAsking
from schoolgate.gateway.failing import CLOSED, OPEN, failure_decision, failure_name
from schoolgate.gateway.journal_events import EventSink, decision_record
from schoolgate.gateway.proxy.records import WarnPasses
from schoolgate.gateway.proxy.users import DirectoryUser

log = logging.getLogger(__name__)

Mode = Literal["acl", "rewrite"]


class SquidRequest:
    __slots__ = ("address", "channel", "method", "url", "user")

    def __init__(
        self, channel: str | None, url: str, address: str, user: str | None, method: str
    ) -> None:
        self.channel = channel
        self.url = url
        self.address = address
        self.user = user
        self.method = method


class HelperInputError(ValueError):
    """A line Squid sent that this helper cannot read; answered `BH` (broken helper)."""


def parse_line(line: str, mode: Mode) -> SquidRequest:
    fields = line.split()
    channel = fields.pop(0) if fields and fields[0].isdigit() else None
    if mode == "acl":
        if len(fields) < 4:
            raise HelperInputError(f"expected `%SRC %un %>rm %ru`, got {line.strip()[:200]!r}")
        address, user, method, url = (unquote(f) for f in fields[:4])
    else:
        if len(fields) < 1:
            raise HelperInputError(f"expected a URL and extras, got {line.strip()[:200]!r}")
        url = fields[0]
        address = fields[1].split("/", 1)[0] if len(fields) > 1 else "-"
        user = unquote(fields[2]) if len(fields) > 2 else "-"
        method = fields[3] if len(fields) > 3 else "GET"
    return SquidRequest(channel, url, address, None if user in ("-", "") else user, method)


def target_url(request: SquidRequest) -> str:
    """CONNECT requests name `host:port`; everything else is a full URL."""
    if request.method == "CONNECT" or "://" not in request.url:
        host, _, port = request.url.rpartition(":")
        if port == "443" or not port.isdigit():
            return f"https://{host or request.url}/"
        return f"https://{request.url}/"
    return request.url


def quoted(value: str) -> str:
    """A Squid helper quoted-string value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


class SquidHelper:
    def __init__(
        self,
        decider: Callable[[], Decider],
        mode: Mode,
        pages_url: str,
        *,
        users: dict[str, DirectoryUser] | None = None,
        identify: Callable[[str], Subject] | None = None,
        journal: EventSink | None = None,
        passes: WarnPasses | None = None,
        agreements: AgreementCheck | None = None,
    ) -> None:
        self.decider = decider
        self.agreements = agreements  # the published agreement state and the pages' signatures
        self.passes = passes  # warn click-throughs the pages server granted (a shared file)
        self.mode = mode
        self.pages_url = pages_url.rstrip("/")
        self.users = users or {}
        self.identify = identify
        self.journal = journal
        self._fail_mode = CLOSED
        self.who = WhoIsAsking(identify, agreements, self.users)

    def subject(self, request: SquidRequest, decider: Decider) -> Subject:
        """Who is asking (`gateway/asking.py`): the user Squid authenticated, whose group the
        directory gives, else whoever is bound to the address; and their agreement state."""
        return self.who.subject_at(request.address, decider, request.user)

    def answer(self, line: str) -> str:
        first = line.split(None, 1)[0] if line.strip() else ""
        prefix = f"{first} " if first.isdigit() else ""
        try:
            request = parse_line(line, self.mode)
        except HelperInputError as exc:
            return f"{prefix}BH message={quoted(str(exc))}"
        url = target_url(request)
        unfiltered = None
        subject = None
        try:
            decider = self.decider()
            self._fail_mode = decider.policy.filtering.fail_mode
            subject = self.subject(request, decider)
            decision = decider.decide(subject, parse_target(url), datetime.now(UTC))
        except (TargetError, UnknownGroupError) as exc:
            return f"{prefix}BH message={quoted(f'cannot decide on {url[:200]}: {exc}')}"
        except Exception as exc:  # filtering failed: the policy's fail_mode decides
            log.exception("squid helper: cannot decide on a request from %s", request.address)
            decision = failure_decision(self._fail_mode, subject, url, failure_name(exc))
            unfiltered = failure_name(exc) if self._fail_mode == OPEN else None
        self._record(request, url, decision, unfiltered)
        if subject is None:
            return prefix + self._verdict(request, url, decision, False)
        passed = self._has_warn_pass(request, subject, decision)
        return prefix + self._verdict(request, url, decision, passed)

    def _has_warn_pass(self, request: SquidRequest, subject: Subject, decision: Decision) -> bool:
        """Whether this user or device clicked through the warning for this host on the pages
        server (which files passes by signed-in user, else by device address)."""
        if decision.action is not Action.WARN or self.passes is None:
            return False
        host = decision.target.split("/", 1)[0]
        keys = [f"address:{request.address}"]
        if subject.user:
            keys.insert(0, f"user:{subject.user}")
        return any(self.passes.has(key, host) for key in keys)

    def _verdict(self, request: SquidRequest, url: str, decision: Decision, passed: bool) -> str:
        allowed = decision.action is Action.ALLOW or passed
        if self.mode == "acl":
            if allowed:
                return "OK"
            return f"ERR message={quoted(decision.reason)} log={quoted(decision.rule or '')}"
        if allowed or request.method == "CONNECT":
            return "ERR"
        return f"OK status=302 url={quoted(self.page_for(url, decision))}"

    def page_for(self, url: str, decision: Decision) -> str:
        if decision.rule == "agreement-required":
            return f"{self.pages_url}/agreement?next={quote(url, safe='')}"
        path = "/warn" if decision.action is Action.WARN else "/blocked"
        return f"{self.pages_url}{path}?url={quote(url, safe='')}&group={quote(decision.group)}"

    def _record(
        self, request: SquidRequest, url: str, decision: Decision, unfiltered: str | None = None
    ) -> None:
        if self.journal is None:
            return
        event = decision_record(
            decision,
            source="squid",
            address=request.address,
            user=request.user,
            target=url,
            extra={"method": request.method} | ({"unfiltered": unfiltered} if unfiltered else {}),
        )
        self.journal.append(event)
        self.journal.hand_over()  # in the OS before Squid hears the answer

    def run(self, stdin: IO[str], stdout: IO[str]) -> None:
        """Answer until Squid closes stdin. Squid reads answers in order per helper process."""
        for line in stdin:
            if not line.strip():
                continue
            stdout.write(self.answer(line) + "\n")
            stdout.flush()
