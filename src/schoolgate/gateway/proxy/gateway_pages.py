"""The gateway's own web pages: agreement signing, warn click-through, unblock requests, reports.

Served two ways: by the proxy itself for requests addressed to the pages URL (so it knows the
authenticated user), and by a small standalone server (`PagesServer`) that is also the block page
the DNS resolver points blocked names at: a request arriving there for any other host name is
answered with the block page for that host.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, urlsplit

from schoolgate.engine.agreements import needs_more_than_the_user
from schoolgate.engine.decide import Decider, Decision, Subject
from schoolgate.engine.policy.schema import Action
from schoolgate.engine.targets import TargetError, parse_target
from schoolgate.gateway.agreement_check import AgreementCheck
from schoolgate.gateway.agreement_state import AgreementState
from schoolgate.gateway.asking import Visitor, WhoIsAsking
from schoolgate.gateway.journal_events import EventSink, decision_record, happening_record
from schoolgate.gateway.proxy.pages import (
    PageLinks,
    PageResponse,
    Reader,
    block_page,
    message_page,
    page,
    reader_of,
    render,
    warn_page,
)
from schoolgate.gateway.proxy.records import RequestLog, SignatureStore, WarnPasses


class GatewayPages:
    def __init__(
        self,
        decider: Callable[[], Decider],
        links: PageLinks,
        signatures: SignatureStore,
        requests: RequestLog,
        passes: WarnPasses,
        journal: EventSink | None = None,
        agreement_state: AgreementState | None = None,
        logon_time: Callable[[str], datetime | None] | None = None,
    ) -> None:
        self.decider = decider
        self.agreements = AgreementCheck(agreement_state, signatures, logon_time)
        """Complete agreements the staff app publishes (with parents' countersignatures) and
        the clicks made here where the user alone signs."""
        self.links = links
        self.signatures = signatures
        self.requests = requests
        self.passes = passes
        self.journal = journal
        self.who = WhoIsAsking(agreements=self.agreements)

    # Decisions ------------------------------------------------------------------------------

    def subject(self, visitor: Visitor, decider: Decider) -> Subject:
        return self.who.subject(visitor, decider)

    def has_signed(self, visitor: Visitor, decider: Decider, group_id: str) -> bool:
        """See `gateway/agreement_check.py`: a pupil's own click never stands in for a parent's
        countersignature (STM-230, SH-098, CAV-029)."""
        return self.agreements.has_signed(visitor.key, decider, group_id, visitor.address)

    @staticmethod
    def _agreement_of(decider: Decider, group_id: str) -> tuple[str | None, str]:
        return AgreementCheck.agreement_of(decider, group_id)

    def response_for(self, decision: Decision, url: str, visitor: Visitor) -> PageResponse | None:
        """The page to show instead of `url`, or None if the request may go ahead."""
        if decision.action is Action.ALLOW:
            return None
        if decision.rule == "agreement-required":
            return PageResponse.redirect(self.links.agreement(url), 302)
        if decision.action is Action.WARN:
            if self.passes.has(visitor.key, _host_of(url)):
                return None
            reader = self.reader(decision)
            return warn_page(self.school, decision, url, self.links, visitor.key, reader)
        when = self.school_now().strftime("%d %B %Y %H:%M")
        return block_page(self.school, decision, url, self.links, when, self.reader(decision))

    def school_now(self, aware: bool = False) -> datetime:
        """Now in the school's time zone (the policy's `school.timezone`), never the server's:
        the clock is read here, at the gateway, not inside the engine."""
        zone = self.decider().zone
        now = datetime.now(UTC).astimezone(zone)
        return now if aware else now.replace(tzinfo=None)

    def reader(self, decision: Decision) -> Reader:
        """Who the page is written for: the age of the group the decision was made for."""
        try:
            return reader_of(self.decider().policy.group(decision.group))
        except KeyError:
            return Reader.ADULT

    @property
    def school(self) -> str:
        return self.decider().policy.school.name

    # Routes -----------------------------------------------------------------------------------

    async def handle(
        self,
        method: str,
        target: str,
        body: bytes,
        visitor: Visitor,
        host: str | None = None,
        scheme: str = "http",
    ) -> PageResponse:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        route = (method if method != "HEAD" else "GET", parts.path or "/")
        handler = self._routes.get(route)
        if handler is None:
            if route[0] == "GET" and host:
                return self.blocked_host_page(host, target, visitor, scheme)
            return message_page(self.school, "Not found", "There is no such page.", 404)
        return await handler(query | form, visitor)

    @cached_property
    def _routes(self) -> dict[tuple[str, str], Any]:
        return {
            ("GET", "/"): self._index,
            ("GET", "/agreement"): self._agreement_form,
            ("POST", "/agreement"): self._sign,
            ("GET", "/warn"): self._warn,
            ("GET", "/blocked"): self._blocked,
            ("POST", "/proceed"): self._proceed,
            ("GET", "/unblock"): self._unblock_form,
            ("POST", "/unblock"): self._unblock,
            ("GET", "/report"): self._report_form,
            ("POST", "/report"): self._report,
            ("GET", "/my-requests"): self._my_requests,
        }

    def blocked_host_page(
        self, host: str, target: str, visitor: Visitor, scheme: str = "http"
    ) -> PageResponse:
        """A request that reached the pages server because DNS answered with its address
        (`scheme` https: over the pages server's TLS listener, tls/pages_tls.py)."""
        url = f"{scheme}://{host}{target if target.startswith('/') else '/'}"
        decider = self.decider()
        try:
            decision = decider.decide(self.subject(visitor, decider), url, datetime.now(UTC))
        except TargetError as exc:
            return message_page(self.school, "Bad address", str(exc), 400)
        if self.journal is not None:
            self.journal.append(
                decision_record(
                    decision, source="pages", address=visitor.address, user=visitor.user, target=url
                )
            )
            self.journal.hand_over()
        response = self.response_for(decision, url, visitor)
        if response is None:
            return message_page(
                self.school,
                "Not blocked",
                "This site is not blocked for you at the moment. Please try again.",
                link=url,
            )
        return response

    async def _blocked(self, args: dict[str, str], visitor: Visitor) -> PageResponse:
        """Where the Squid helper redirects: the block page for `url` and the group Squid saw."""
        decider = self.decider()
        group = args.get("group")
        if group and any(g.id == group for g in decider.policy.groups):
            visitor = Visitor(visitor.key, visitor.address, visitor.user, group)
        url = args.get("url", "")
        try:
            decision = decider.decide(self.subject(visitor, decider), url, datetime.now(UTC))
        except TargetError as exc:
            return message_page(self.school, "Bad address", str(exc), 400)
        response = self.response_for(decision, url, visitor)
        if response is None:
            return message_page(self.school, "Not blocked", "This site is not blocked.", link=url)
        return response

    async def _index(self, args: dict[str, str], visitor: Visitor) -> PageResponse:
        group = visitor.group or self.decider().default_group
        who = visitor.user or visitor.address
        return message_page(self.school, "Schoolgate", f"You are {who}, filtered as {group}.")

    async def _agreement_form(self, args: dict[str, str], visitor: Visitor) -> PageResponse:
        decider = self.decider()
        group_id = visitor.group or decider.default_group
        agreement_id, _ = self._agreement_of(decider, group_id)
        if agreement_id is None:
            return message_page(self.school, "No agreement needed", "You have nothing to sign.")
        agreement = next((a for a in decider.policy.agreements if a.id == agreement_id), None)
        next_url = self._next_url(args)
        title = agreement.title if agreement else "the acceptable use agreement"
        statements = agreement.statements if agreement else []
        items = "\n".join(f"<li>{html.escape(s)}</li>" for s in statements)
        source = agreement.source if agreement else None
        quote = (
            f"<p><small>{html.escape(source.section)}: “{html.escape(source.quote)}”</small></p>"
            if source
            else ""
        )
        body = render(
            "agreement.html",
            school=self.school,
            title="Acceptable use agreement",
            raw={
                "statements": items or _DEFAULT_STATEMENT,
                "quote": quote,
                "parent_note": _PARENT_NOTE
                if agreement is not None and needs_more_than_the_user(agreement)
                else "",
            },
            agreement_title=title,
            sign_url=self.links.to("/agreement"),
            next=next_url,
            next_sig=args.get("sig", "") if next_url else "",
            agreement_id=agreement_id,
            form_token=self._form_token(visitor, "/agreement"),
            who=visitor.user or f"this device ({visitor.address})",
        )
        return page(200, body)

    async def _sign(self, args: dict[str, str], visitor: Visitor) -> PageResponse:
        if not self._form_valid(args, visitor, "/agreement"):
            return _stale_form(self.school)
        decider = self.decider()
        group_id = visitor.group or decider.default_group
        agreement_id, _ = self._agreement_of(decider, group_id)
        if agreement_id is None or args.get("agreement") != agreement_id:
            return message_page(self.school, "Not signed", "That is not your agreement.", 400)
        if args.get("agree") != "yes":
            return message_page(self.school, "Not signed", "Tick the box to agree.", 400)
        now = self.school_now()
        await asyncio.to_thread(
            self.signatures.sign, visitor.key, agreement_id, now, group=group_id
        )
        self._record("agreement-signed", visitor, extra={"agreement": agreement_id})
        if not self.has_signed(visitor, decider, group_id):
            return message_page(self.school, "Thank you", _WAITING_FOR_PARENT)
        next_url = self._next_url(args)
        if next_url:
            return PageResponse.redirect(next_url)
        return message_page(self.school, "Thank you", "Your agreement is signed.")

    def _next_url(self, args: dict[str, str]) -> str:
        """Where to go after signing: only an address the gateway itself signed."""
        next_url = args.get("next", "")
        return next_url if self.links.next_valid(next_url, args.get("sig", "")) else ""

    async def _warn(self, args: dict[str, str], visitor: Visitor) -> PageResponse:
        url = args.get("url", "")
        decider = self.decider()
        try:
            decision = decider.decide(self.subject(visitor, decider), url, datetime.now(UTC))
        except TargetError as exc:
            return message_page(self.school, "Bad address", str(exc), 400)
        if decision.action is not Action.WARN:
            return message_page(self.school, "Nothing to confirm", "No warning applies.", link=url)
        reader = self.reader(decision)
        return warn_page(self.school, decision, url, self.links, visitor.key, reader)

    async def _proceed(self, args: dict[str, str], visitor: Visitor) -> PageResponse:
        url = args.get("url", "")
        if not self.links.token_valid(args.get("token", ""), visitor.key, url):
            return message_page(
                self.school, "Link expired", "Please open the site again and choose again.", 403
            )
        self.passes.grant(visitor.key, _host_of(url))
        self._record("warn-pass", visitor, target=url)
        return PageResponse.redirect(url)

    async def _unblock_form(self, args: dict[str, str], visitor: Visitor) -> PageResponse:
        # SH-026: whoever asks for a site to be unblocked answers for its content.
        attestation = (
            '<p><label><input id="responsible" type="checkbox" name="responsible" value="yes" '
            "required> I will check that this site is suitable for use in school, and ask for it "
            "to be blocked again at once if it is not.</label></p>"
        )
        return self._request_form(
            args,
            visitor,
            "/unblock",
            "Ask for this site to be unblocked",
            "Why do you need this site?",
            attestation,
        )

    async def _report_form(self, args: dict[str, str], visitor: Visitor) -> PageResponse:
        return self._request_form(
            args, visitor, "/report", "Report a problem", "What is wrong?", ""
        )

    def _request_form(
        self,
        args: dict[str, str],
        visitor: Visitor,
        path: str,
        title: str,
        prompt: str,
        attestation: str,
    ) -> PageResponse:
        url = args.get("url", "")
        body = render(
            "request.html",
            school=self.school,
            title=title,
            raw={"attestation": attestation},
            target=url or "(no address)",
            action_url=self.links.to(path),
            url=url,
            form_token=self._form_token(visitor, path),
            prompt=prompt,
        )
        return page(200, body)

    async def _unblock(self, args: dict[str, str], visitor: Visitor) -> PageResponse:
        if not self._form_valid(args, visitor, "/unblock"):
            return _stale_form(self.school)
        if args.get("responsible") != "yes":
            return message_page(
                self.school, "Not sent", "Please confirm you will check the site.", 400
            )
        return await self._file_request("unblock-request", args, visitor)

    async def _report(self, args: dict[str, str], visitor: Visitor) -> PageResponse:
        if not self._form_valid(args, visitor, "/report"):
            return _stale_form(self.school)
        return await self._file_request("problem-report", args, visitor)

    # A form posted from another site would sign the agreement (or file a request) for whoever
    # the device is; each form carries a token signed for this visitor and form, which another
    # site cannot read.
    def _form_token(self, visitor: Visitor, path: str) -> str:
        return self.links.token(visitor.key, "form:" + path)

    def _form_valid(self, args: dict[str, str], visitor: Visitor, path: str) -> bool:
        return self.links.token_valid(args.get("form_token", ""), visitor.key, "form:" + path)

    async def _file_request(
        self, kind: str, args: dict[str, str], visitor: Visitor
    ) -> PageResponse:
        record = {
            "type": kind,
            "at": self.school_now(aware=True).isoformat(timespec="seconds"),
            "url": args.get("url", ""),
            "message": args.get("message", "")[:2000],
            "subject": visitor.key,
            "user": visitor.user,
            "address": visitor.address,
            "group": visitor.group,
        }
        await asyncio.to_thread(self.requests.add, record)
        self._record(kind, visitor, target=record["url"])
        return message_page(
            self.school,
            "Thank you",
            "Your message has been sent to the staff. Their answer will appear on your requests "
            "page.",
            link=self.links.to("/my-requests"),
        )

    async def _my_requests(self, args: dict[str, str], visitor: Visitor) -> PageResponse:
        """The visitor's own requests and the staff's answers (written by the staff app)."""
        mine = await asyncio.to_thread(self.requests.mine, visitor.key)
        rows = "\n".join(_request_row(r) for r in mine)
        body = render(
            "my_requests.html",
            school=self.school,
            title="Your requests",
            raw={"rows": rows or '<tr><td colspan="3">You have not sent any requests.</td></tr>'},
        )
        return page(200, body)

    def _record(
        self,
        kind: str,
        visitor: Visitor,
        *,
        target: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if self.journal is None:
            return
        self.journal.append(
            happening_record(
                kind,
                source="pages",
                address=visitor.address,
                user=visitor.user,
                group=visitor.group,
                target=target,
                extra=extra,
            )
        )
        self.journal.hand_over()


_PARENT_NOTE = (
    '<p id="parent-note"><strong>Your parent or carer must sign this agreement too.</strong> '
    "The school sends them a link; you can use the internet once you have both signed.</p>"
)

_WAITING_FOR_PARENT = (
    "Your signature is recorded. Your parent or carer must sign the agreement too before you can "
    "use the internet: the school has sent them a link. Please ask them to sign it."
)

_DEFAULT_STATEMENT = "<li>I will use the school's internet safely, kindly and for school work.</li>"


def _host_of(url: str) -> str:
    """The host as decisions name it (IDNA, no trailing dot), so a warn pass granted here is
    found by the proxy's tunnel check and the Squid helper, which look up `decision.target`."""
    try:
        return parse_target(url).host
    except TargetError:
        return ""


def _stale_form(school: str) -> PageResponse:
    return message_page(
        school,
        "Please try again",
        "This form has expired or did not come from this page. Open the page again and resend.",
        403,
    )


_ANSWER_WORDS = {"answered": "Answered", "declined": "Not unblocked", "approved": "Unblocked"}


def _request_row(record: dict[str, Any]) -> str:
    answer = record.get("answer") or {}
    status = _ANSWER_WORDS.get(str(answer.get("status")), "Waiting for the staff")
    reply = html.escape(str(answer.get("message") or ""))
    return (
        f'<tr><td class="target">{html.escape(str(record.get("url") or ""))}</td>'
        f"<td>{html.escape(str(record.get('at') or '')[:16].replace('T', ' '))}</td>"
        f'<td><strong class="status">{status}</strong>{"<br>" + reply if reply else ""}</td></tr>'
    )


def _decision_fields(decision: Decision) -> dict[str, Any]:
    fields = decision.to_dict()
    fields.pop("source", None)
    return fields
