"""The pages a filtered user sees: block, warn (click-through), agreement, request and report.

Templates live in `schoolgate/templates/gateway/`; every value is HTML-escaped before it is put
into a template, so a hostile URL cannot inject markup into a block page.

Block and warn pages are written for their reader (`Reader`, from the group's kind and title):

- young (Foundation / EYFS / KS1 pupils): a short, kind page with a picture and "ask your
  teacher" — no policy quotes, rule ids, tick boxes or forms (STM-234: "I will only use
  activities that a teacher or suitable adult has told or allowed me to use").
- pupil (KS2, secondary): the reason in plain words (from the category titles), with the rule
  and the policy's words folded away under "More about this rule", and the request links.
- adult (staff, governors, visitors, community): the rule that fired, its categories and the
  policy quote (STM-075, SH-026).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import time
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote

from schoolgate.engine.decide import Decision
from schoolgate.engine.policy.schema import Group
from schoolgate.engine.taxonomy import CATEGORIES

HTML_TYPE = ("Content-Type", "text/html; charset=utf-8")
TOKEN_SECONDS = 900
TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "gateway"


@dataclass(slots=True)
class PageResponse:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def redirect(cls, location: str, status: int = 303) -> PageResponse:
        return cls(status, b"", [("Location", location)])


_ACCENTS = {
    "block.html": "#b3261e",
    "warn.html": "#8a5a00",
    "block_young.html": "#2e7d5b",
    "warn_young.html": "#2e7d5b",
}


class Reader(StrEnum):
    """Who a block or warn page is written for."""

    YOUNG = "young"
    PUPIL = "pupil"
    ADULT = "adult"


_YOUNG_MARKERS = ("ks1", "eyfs", "foundation", "reception", "nursery", "infant", "early years")


def reader_of(group: Group | None) -> Reader:
    """Young for Foundation/EYFS/KS1 pupil groups (by id or title), pupil for other pupils,
    adult for everyone else (and for a group the policy does not know)."""
    if group is None or group.kind != "pupil":
        return Reader.ADULT
    words = f"{group.id} {group.title}".lower().replace("-", " ")
    return Reader.YOUNG if any(m in words for m in _YOUNG_MARKERS) else Reader.PUPIL


def plain_reason(decision: Decision) -> str:
    """Why, in words a pupil reads: no rule ids, no policy section names."""
    verb = "needs a second thought" if decision.action.value == "warn" else "is blocked"
    if decision.search and decision.keywords:
        return (
            "Your search was stopped because it uses words the school does not allow. "
            "If something is worrying you, please talk to a teacher or an adult you trust."
        )
    if decision.rule == "walled-garden":
        return "At school you can use only the websites your teachers have chosen for you."
    titles = [CATEGORIES[c].title.lower() for c in decision.categories if c in CATEGORIES]
    if titles:
        return f"This website {verb} at school because it is about {_and_list(titles)}."
    return f"This website {verb} at school: the school has put it on its list."


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# Pictures shared by several pages, put in as each template is read (`${owl}`).
_PICTURES = ("owl",)


@cache
def _template(name: str) -> Template:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    for picture in _PICTURES:
        if f"${{{picture}}}" in text:
            svg = (TEMPLATES / f"{picture}.svg").read_text(encoding="utf-8").rstrip("\n")
            text = text.replace(f"${{{picture}}}", svg)
    return Template(text)


def render(
    name: str, *, school: str, title: str, raw: dict[str, str] | None = None, **text: str
) -> bytes:
    """Fill template `name` inside the base layout; `text` values are escaped, `raw` are not."""
    values = {key: html.escape(value) for key, value in text.items()}
    values.update(raw or {})
    content = _template(name).safe_substitute(values)
    page = _template("base.html").safe_substitute(
        title=html.escape(title),
        school=html.escape(school),
        accent=_ACCENTS.get(name, "#1f5fa8"),
        content=content,
    )
    return page.encode("utf-8")


def page(status: int, body: bytes) -> PageResponse:
    return PageResponse(
        status, body, [HTML_TYPE, ("Cache-Control", "no-store"), ("X-Frame-Options", "DENY")]
    )


class PageLinks:
    """Absolute links to the pages server, and signed click-through tokens."""

    def __init__(self, base_url: str, secret: bytes) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret

    def to(self, path: str, **query: str) -> str:
        if not query:
            return self.base_url + path
        args = "&".join(f"{key}={quote(value, safe='')}" for key, value in query.items())
        return f"{self.base_url}{path}?{args}"

    def agreement(self, next_url: str) -> str:
        """The agreement page, coming back to `next_url` once signed (a signed value, so the
        form cannot be used to send people to an address the gateway did not send them from)."""
        return self.to("/agreement", next=next_url, sig=self.next_signature(next_url))

    def next_signature(self, next_url: str) -> str:
        message = f"next\n{next_url}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def next_valid(self, next_url: str, signature: str) -> bool:
        if not next_url.startswith(("http://", "https://")):
            return False
        return _same(signature, self.next_signature(next_url))

    def token(self, subject_key: str, url: str, now: float | None = None) -> str:
        expires = int((now or time.time()) + TOKEN_SECONDS)
        return f"{expires}.{self._mac(subject_key, url, expires)}"

    def token_valid(self, token: str, subject_key: str, url: str) -> bool:
        expires_text, _, mac = token.partition(".")
        if not expires_text.isdigit() or int(expires_text) < time.time():
            return False
        return _same(mac, self._mac(subject_key, url, int(expires_text)))

    def _mac(self, subject_key: str, url: str, expires: int) -> str:
        message = f"{subject_key}\n{url}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that also accepts non-ASCII input (a forged value can be any)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def _quote_block(decision: Decision) -> str:
    if decision.source is None:
        return ""
    quote_text = html.escape(decision.source.quote)
    section = html.escape(decision.source.section)
    return f'<blockquote id="quote">“{quote_text}”<br><small>— {section}</small></blockquote>'


def _categories(decision: Decision) -> str:
    if not decision.categories:
        return ""
    return " (categories: " + html.escape(", ".join(decision.categories)) + ")"


def _explanation(decision: Decision, url: str) -> dict[str, Any]:
    """What block and warn pages both show: the address, the reason, the rule and its quote."""
    return {
        "raw": {"quote": _quote_block(decision), "categories": _categories(decision)},
        "target": url,
        "reason": decision.reason,
        "rule": decision.rule or "default",
    }


def _rule_details(decision: Decision, reader: Reader) -> str:
    """The rule and its policy quote: open for adults, folded away for pupils."""
    rule = html.escape(decision.rule or "default")
    inner = (
        f'<p>The rule: <strong id="rule">{rule}</strong>{_categories(decision)}</p>'
        f"{_quote_block(decision)}"
    )
    if reader is Reader.ADULT:
        return inner
    return f'<details id="details"><summary>More about this rule</summary>{inner}</details>'


def block_page(
    school: str,
    decision: Decision,
    url: str,
    links: PageLinks,
    when: str,
    reader: Reader = Reader.ADULT,
) -> PageResponse:
    if reader is Reader.YOUNG:
        body = render("block_young.html", school=school, title="Let’s ask your teacher")
        return page(403, body)
    explanation = _explanation(decision, url)
    explanation["raw"]["details"] = _rule_details(decision, reader)
    body = render(
        "block.html",
        school=school,
        title="This site is blocked",
        **explanation,
        plain=plain_reason(decision),
        unblock_url=links.to("/unblock", url=url),
        report_url=links.to("/report", url=url),
        when=when,
    )
    return page(403, body)


def warn_page(
    school: str,
    decision: Decision,
    url: str,
    links: PageLinks,
    subject_key: str,
    reader: Reader = Reader.ADULT,
    proceed_url: str | None = None,
) -> PageResponse:
    """`proceed_url`: where the click-through form posts (default the pages server; an
    inspected HTTPS session posts to its own origin, proxy/inspect.py, to avoid a mixed form)."""
    explanation = _explanation(decision, url)
    explanation["raw"]["details"] = _rule_details(decision, reader)
    body = render(
        "warn_young.html" if reader is Reader.YOUNG else "warn.html",
        school=school,
        title="Ask your teacher first" if reader is Reader.YOUNG else "Are you sure?",
        **explanation,
        plain=plain_reason(decision),
        proceed_url=proceed_url or links.to("/proceed"),
        url=url,
        token=links.token(subject_key, url),
        report_url=links.to("/report", url=url),
    )
    return page(403, body)


def message_page(
    school: str, title: str, message: str, status: int = 200, link: str = ""
) -> PageResponse:
    raw = {"link": f'<p><a id="next" href="{html.escape(link)}">Continue</a></p>' if link else ""}
    return page(
        status, render("message.html", school=school, title=title, raw=raw, message=message)
    )
