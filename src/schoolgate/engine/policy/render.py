"""Write a policy back as the readable document a school prints and hands out: Markdown, and an
A4 HTML page from it.

Every enforceable rule is shown in words, and the policy's matrices (sanctions, who may use what)
are shown as tables, so the printed policy and the running policy are one and the same. The
document is written for the people who read it, not the people who built it (issue 12):

- Dates are the school's records, not the seed's: the approval is the last annual filtering and
  monitoring review signed off in the staff app (DfE standard 2; STM-004, STM-006), the last
  amendment is the newest approved filter change (STM-314, STM-315), and the next review is
  what the records say. They come in as `PrintRecords`; without records the document prints a
  blank line to fill in, never the written policy's own (often years-old) dates, which appear
  only under "Document history".
- Named people: every contact's name, or a visible blank ("________") where the policy names
  nobody, and the DfE standard 1 register of who is responsible for filtering and monitoring
  (STM-016, STM-031, STM-044, CAV-075) when the caller passes it.
- No file names, rule ids or requirement ids in the main text. Each rule carries a reference
  number; the appendix "Where each rule comes from" gives, per number, the section and words of
  the school's written policy, the requirement ids and the implementer's note.
- A4: tables keep every column; wide matrices are set on landscape pages in smaller type, long
  words wrap, header rows repeat on each page, and every page carries the school's name and
  "Page n of N" (CSS paged media, which Chromium prints).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path

from markdown_it import MarkdownIt

from schoolgate.engine.policy.concerns import concern_categories
from schoolgate.engine.policy.schema import (
    ALL_GROUPS,
    AccessRule,
    Policy,
    SanctionMatrix,
    SiteList,
    Source,
    Table,
)
from schoolgate.engine.taxonomy import CATEGORIES, TEXT_MODEL_THEMES
from schoolgate.engine.text.model import default_thresholds

BLANK = "________"
"""What the printed policy shows where a name or a date is still to be filled in by hand."""

REQUIREMENT_ID = re.compile(r"\b(?:TM|STM|SH|CAV|HG)-S?\d{2,3}\b")
"""Requirement ids (STM-164) and scenario ids (STM-S02) of ../shared/requirements.md."""

WIDE_COLUMNS = 8
"""A section with a table of this many columns or more is set on a landscape page."""

_WHERE_FROM = "## Appendix: where each rule comes from"


@dataclass(frozen=True)
class Responsible:
    """One line of the DfE standard 1 register: a duty, the post(s) holding it, the person."""

    duty: str
    posts: str
    name: str = ""


@dataclass(frozen=True)
class PrintRecords:
    """The school's records the printed policy's dates and names come from.

    `approved`: when the policy as it stands was last approved (the last signed-off annual
    review); `approved_by`: who signed it off, in words ("J Smith, Principal"); `next_review`:
    when the next review is due; `history`: earlier approvals, (date, words), oldest first;
    `responsible`: the DfE standard 1 register; `printed`: the day the copy was made."""

    approved: date | None = None
    approved_by: str = ""
    next_review: date | None = None
    history: tuple[tuple[date, str], ...] = ()
    responsible: tuple[Responsible, ...] = ()
    printed: date | None = None


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass
class _Ref:
    number: int
    what: str
    source: Source | None
    note: str


@dataclass
class _Notes:
    """Collects, in document order, where each rule comes from; hands out reference numbers."""

    refs: list[_Ref] = field(default_factory=list)

    def ref(self, what: str, source: Source | None, note: str | None = None) -> str:
        """The reference number to print beside `what`, or "" when there is nothing to cite."""
        if source is None and not note:
            return ""
        number = len(self.refs) + 1
        self.refs.append(_Ref(number, what, source, " ".join((note or "").split())))
        return str(number)

    def mark(self, what: str, source: Source | None, note: str | None = None) -> str:
        """` [n]` to append to a sentence, or "" when there is nothing to cite."""
        number = self.ref(what, source, note)
        return f" [{number}]" if number else ""


@dataclass(frozen=True)
class _Section:
    markdown: str
    wide: bool = False


def render_markdown(policy: Policy, records: PrintRecords | None = None) -> str:
    return "\n\n".join(s.markdown for s in _sections(policy, records)).rstrip() + "\n"


def render_html(
    policy: Policy, records: PrintRecords | None = None, back: tuple[str, str] | None = None
) -> str:
    """The policy as one A4 HTML document; sections with wide tables print on landscape pages.
    `back` (address, words): a link shown on screen only, for the staff app's page."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    parts = []
    if back is not None:
        parts.append(
            f'<nav class="screen-only"><a href="{html.escape(back[0])}">'
            f"{html.escape(back[1])}</a> · Print this page or save it as PDF from the browser: "
            "it is laid out for A4 paper, with the wide tables on landscape pages.</nav>"
        )
    for section in _sections(policy, records):
        body = md.render(section.markdown).replace(f"<td>{BLANK}</td>", _BLANK_CELL)
        cls = ' class="wide"' if section.wide else ""
        parts.append(f"<section{cls}>\n{body}</section>")
    school = policy.school
    return _HTML_PAGE.format(
        title=html.escape(f"{school.name}: {school.policy_title}"),
        css=_CSS.replace(
            "@@RUNNING@@", _css_string(f"{school.name} · {school.policy_title}")
        ).replace("@@FOOT@@", _css_string(_footer(records))),
        body="\n".join(parts),
    )


def write_documents(
    policy: Policy, folder: Path, records: PrintRecords | None = None
) -> list[Path]:
    """Write `<school-id>.md` and `<school-id>.html` into `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in (
        ("md", render_markdown(policy, records)),
        ("html", render_html(policy, records)),
    ):
        path = folder / f"{policy.school.id}.{suffix}"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _sections(policy: Policy, records: PrintRecords | None) -> list[_Section]:
    records = records or PrintRecords()
    notes = _Notes()
    texts = [
        _title(policy, records),
        _responsible(records),
        _contacts(policy, notes),
        _groups(policy, notes),
        _periods(policy, notes),
        _filtering(policy, notes),
        _rules(policy, notes),
        _site_lists(policy, notes),
        _support(policy, notes),
        _monitoring(policy, notes),
        _https(policy, notes),
        _agreements(policy, notes),
        _consents(policy, notes),
        _training(policy, notes),
        *(_sanction_matrix(m, notes) for m in policy.sanctions),
        _concerns(policy, notes),
        *(_table(t, notes) for t in policy.tables),
        _approved_changes(policy),
        _alert_exclusions(policy),
        _where_from(notes),
        _history(policy, records),
    ]
    # The appendix of sources is reference reading: landscape, in the small type, fewer pages.
    return [
        _Section(t, _widest(t) >= WIDE_COLUMNS or t.startswith(_WHERE_FROM)) for t in texts if t
    ]


def _widest(markdown: str) -> int:
    """The most columns of any table in a piece of Markdown (0 when it has none)."""
    widths = [
        line.count(" | ") + 1
        for line, below in zip(markdown.splitlines(), markdown.splitlines()[1:], strict=False)
        if line.startswith("| ") and below.startswith("|---")
    ]
    return max(widths, default=0)


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _footer(records: PrintRecords | None) -> str:
    records = records or PrintRecords()
    approved = long_date(records.approved) if records.approved else BLANK
    review = long_date(records.next_review) if records.next_review else BLANK
    return f"Approved {approved} · Next review {review}"


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _markdown_table(columns: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    columns = list(columns)
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _with_refs(columns: list[str], rows: Sequence[Sequence[object]], refs: list[str]) -> str:
    """A table with a last "Ref." column when any row cites its source, else without one."""
    if any(refs):
        return _markdown_table(
            [*columns, "Ref."], [[*r, n] for r, n in zip(rows, refs, strict=True)]
        )
    return _markdown_table(columns, rows)


def _plain(text: str) -> str:
    """Text for the main body: requirement ids taken out (they are listed in the appendix)."""
    text = REQUIREMENT_ID.sub("", text)
    text = re.sub(r"\(\s*(?:[,;]\s*)*\)|\[\s*(?:[,;]\s*)*\]", "", text)
    text = re.sub(r"\(\s*[,;]\s*", "(", text)
    text = re.sub(r"\s*[,;]\s*\)", ")", text)
    text = re.sub(r"\s+([.,;:])", r"\1", text)
    return " ".join(text.split())


def _groups_text(policy: Policy, groups: list[str]) -> str:
    if ALL_GROUPS in groups:
        return "everyone"
    titles = {g.id: g.title for g in policy.groups}
    return ", ".join(titles.get(g, g) for g in groups)


def _title(policy: Policy, records: PrintRecords) -> str:
    school = policy.school
    approved = long_date(records.approved) if records.approved else BLANK
    if records.approved and records.approved_by:
        approved += f", signed off by {records.approved_by}"
    lines = [f"# {school.name}: {school.policy_title}", "", f"- **Approved:** {approved}"]
    amendments = [
        *((c.approved_at, c.id, f"filter change {c.id}") for c in policy.approved_changes),
        *((e.approved_at, e.id, f"monitoring exclusion {e.id}") for e in policy.alert_exclusions),
    ]
    if amendments:
        when, _, what = max(amendments)
        lines.append(
            f"- **Last amended:** {long_date(when.date())} ({what}; every change is listed at "
            "the end)"
        )
    review = long_date(records.next_review) if records.next_review else BLANK
    lines.append(f"- **Next review:** {review}")
    if records.printed:
        lines.append(f"- **Printed:** {long_date(records.printed)}")
    lines += [
        "",
        "This is the policy the school's web filter and monitoring carry out, printed from the "
        "settings they run on. Numbers in square brackets and in the Ref. column point to "
        '"Where each rule comes from" at the end, which quotes the school\'s written policy.',
    ]
    return "\n".join(lines)


def _responsible(records: PrintRecords) -> str:
    """DfE filtering and monitoring standard 1: who is responsible, with blanks for gaps."""
    if not records.responsible:
        return ""
    rows = [(r.duty, r.posts or BLANK, r.name or BLANK) for r in records.responsible]
    return "## Responsible for filtering and monitoring\n\n" + _markdown_table(
        ["Responsibility", "Post", "Name"], rows
    )


def _contacts(policy: Policy, notes: _Notes) -> str:
    if not policy.contacts:
        return ""
    emails = any(c.email for c in policy.contacts)
    rows = [
        (
            c.title,
            c.name or BLANK,
            *([c.email or ""] if emails else []),
            "; ".join(_plain(d).rstrip(".") for d in c.duties),
        )
        for c in policy.contacts
    ]
    refs = [notes.ref(f"Contact: {c.title}", c.source, c.comment) for c in policy.contacts]
    columns = ["Role", "Name", *(["E-mail"] if emails else []), "Duties"]
    return "## Roles and contacts\n\n" + _with_refs(columns, rows, refs)


def _groups(policy: Policy, notes: _Notes) -> str:
    rows = [
        (
            g.title,
            _plain(g.description),
            "yes" if g.walled_garden else "no",
            "yes" if g.agreement_required else "no",
            "yes" if g.safe_search else "no",
        )
        for g in policy.groups
    ]
    refs = [notes.ref(f"Group: {g.title}", g.source, g.comment) for g in policy.groups]
    columns = ["Group", "Who", "Approved sites only", "Agreement first", "Safe search"]
    return "## Groups of users\n\n" + _with_refs(columns, rows, refs)


def _periods(policy: Policy, notes: _Notes) -> str:
    if not policy.periods:
        return ""
    rows = [
        (p.title, ", ".join(d.value.title() for d in p.days), f"{p.start:%H:%M}–{_clock(p.end)}")
        for p in policy.periods
    ]
    refs = [notes.ref(f"Period: {p.title}", p.source) for p in policy.periods]
    return "## The school week\n\n" + _with_refs(["Period", "Days", "Times"], rows, refs)


def _clock(moment: time) -> str:
    return "24:00" if moment == time.max else f"{moment:%H:%M}"


def _filtering(policy: Policy, notes: _Notes) -> str:
    f = policy.filtering
    lines = [
        "## Web filtering",
        "",
        f"- Sites that no rule or list covers are **{f.default_action.value}ed**"
        if f.default_action.value != "warn"
        else "- Sites that no rule or list covers show a **warning**",
        f"- Blocked names are answered with "
        f"{'the block page' if f.block_response == 'block-page' else 'no such domain'}.",
        f"- If filtering fails it fails **{f.fail_mode}**.",
        f"- Attempts to get round the filter alert at least **{f.circumvention_alert.value}**.",
        "- Child sexual abuse material and terrorist content are blocked for everyone, always, "
        f"and attempts alert **{f.illegal_alert.value}**; no rule can change this.",
    ]
    mark = notes.mark("Web filtering", f.source)
    if mark:
        lines[1] = f"What the filter does, whatever the rules below say.{mark}\n"
    return "\n".join(lines)


def _when(policy: Policy, rule: AccessRule | SiteList) -> str:
    if not rule.periods:
        return "at all times"
    titles = {p.id: p.title for p in policy.periods}
    parts = [
        f"outside {titles[p[8:]]}" if p.startswith("outside:") else titles.get(p, p)
        for p in rule.periods
    ]
    return ", ".join(parts)


def _categories(ids: list[str]) -> str:
    return ", ".join(CATEGORIES[c].title if c in CATEGORIES else c for c in ids)


def _rules(policy: Policy, notes: _Notes) -> str:
    if not policy.rules:
        return ""
    rows = [
        (
            _groups_text(policy, r.groups),
            _categories(r.categories),
            r.action.value,
            _when(policy, r) + (" (nominated users only)" if r.nominated_only else ""),
            r.alert.value,
        )
        for r in policy.rules
    ]
    refs = [
        notes.ref(
            f"Access rule: {r.action.value} {_categories(r.categories)} for "
            f"{_groups_text(policy, r.groups)}",
            r.source,
            r.comment,
        )
        for r in policy.rules
    ]
    columns = ["Who", "Categories", "Action", "When", "Alert"]
    return (
        "## Access rules\n\nRead top to bottom: for each category the first rule that applies "
        "decides.\n\n" + _with_refs(columns, rows, refs)
    )


def _site_lists(policy: Policy, notes: _Notes) -> str:
    changed = {f"change-{c.id}" for c in policy.approved_changes}
    own = [s for s in policy.sites if s.id not in changed]  # changes have their own appendix
    if not own:
        return ""
    rows = [
        (
            s.title,
            _groups_text(policy, s.groups),
            s.action.value,
            _when(policy, s),
            ", ".join(s.sites),
        )
        for s in own
    ]
    refs = [notes.ref(f"Named sites: {s.title}", s.source, s.comment) for s in own]
    columns = ["List", "Who", "Action", "When", "Sites"]
    return "## Named sites\n\n" + _with_refs(columns, rows, refs)


def _support(policy: Policy, notes: _Notes) -> str:
    if not policy.support_services:
        return ""
    rows = [(s.name, ", ".join(s.sites)) for s in policy.support_services]
    refs = [notes.ref(f"Help service: {s.name}", s.source) for s in policy.support_services]
    return (
        "## Help that is never blocked\n\nThese services are reachable for every user, "
        "whatever any list says.\n\n" + _with_refs(["Service", "Sites"], rows, refs)
    )


def _text_thresholds(policy: Policy, notes: _Notes) -> str:
    """The text model's score for each alert level, per theme (policy or shipped default)."""
    defaults = default_thresholds()
    rows, refs = [], []
    for theme in TEXT_MODEL_THEMES:
        chosen = policy.text_thresholds.get(theme)
        levels = chosen.levels() if chosen is not None else defaults[theme]
        cells = [f"{v:.2f}" if v is not None else "never" for v in levels.values()]
        rows.append((theme, *cells, "this policy" if chosen else "Schoolgate default"))
        refs.append(notes.ref(f"Text model: {theme}", chosen.source if chosen else None))
    return (
        "### Text model thresholds\n\nBesides the keyword libraries, a learned text model "
        "scores each search from 0 to 1 per theme. From the score shown it raises that alert "
        'level on its own; "never": the model alone never raises that level.\n\n'
        + _with_refs(["Theme", "Low", "Medium", "High", "Set by"], rows, refs)
    )


def _titles_with_names(policy: Policy) -> dict[str, str]:
    """Contact role -> "Title (Name)", or the title alone when nobody is named."""
    return {c.role: f"{c.title} ({c.name})" if c.name else c.title for c in policy.contacts}


def _monitoring(policy: Policy, notes: _Notes) -> str:
    parts: list[str] = []
    if policy.keyword_rules:
        rows = [
            (
                k.library,
                _groups_text(policy, k.groups),
                k.action.value,
                k.alert.value,
                ", ".join(k.extra_terms),
            )
            for k in policy.keyword_rules
        ]
        refs = [notes.ref(f"Searches: {k.library}", k.source) for k in policy.keyword_rules]
        columns = ["Keyword library", "Who", "Action", "Alert", "Extra terms"]
        parts.append("### Searches\n\n" + _with_refs(columns, rows, refs))
        parts.append(_text_thresholds(policy, notes))
    if policy.category_alerts:
        rows = [(_categories(a.categories), a.alert.value) for a in policy.category_alerts]
        refs = [
            notes.ref(f"Alert on {_categories(a.categories)}", a.source)
            for a in policy.category_alerts
        ]
        parts.append(
            "### Alerts on categories\n\n" + _with_refs(["Categories", "Alert"], rows, refs)
        )
    if policy.alert_routes:
        titles = _titles_with_names(policy)
        rows = [
            (r.level.value, ", ".join(titles.get(n, n) for n in r.notify), r.within or "")
            for r in policy.alert_routes
        ]
        refs = [notes.ref(f"Who is told: {r.level.value}", r.source) for r in policy.alert_routes]
        parts.append(
            "### Who is told\n\n" + _with_refs(["Alert level", "Notify", "Within"], rows, refs)
        )
    parts.append(_out_of_hours_and_retention(policy, notes))
    ss = policy.safe_search
    parts.append(
        f"### Safe search\n\nSafe search is enforced for {_groups_text(policy, ss.groups)}; "
        f"YouTube restricted mode: {ss.youtube}.{notes.mark('Safe search', ss.source)}"
    )
    return "## Monitoring and alerts\n\n" + "\n\n".join(parts)


def _out_of_hours_and_retention(policy: Policy, notes: _Notes) -> str:
    m = policy.monitoring
    titles = _titles_with_names(policy)
    days = ", ".join(d.value.title() for d in m.staffed_days)
    hours = f"{days} {m.staffed_from:%H:%M}–{m.staffed_until:%H:%M}"
    if m.out_of_hours:
        order = "; then ".join(titles.get(r, r) for r in m.out_of_hours)
        calls = (
            f"Outside staffed hours ({hours}), alerts at **{m.out_of_hours_level.value}** or "
            f"above go, in this call order, to: {order} (the next is told if a message cannot "
            "be delivered or its deadline passes)."
        )
    else:
        calls = f"Staffed hours are {hours}; there is no separate out-of-hours call list."
    mark = notes.mark("Out of hours, repeats and log retention", m.source, m.comment)
    lines = [
        f"### Out of hours, repeats and how long logs are kept{mark}",
        "",
        f"- {calls}",
        f"- Repeats of an alert for the same person and theme within {m.dedupe_minutes} minutes "
        "are counted on one alert, not sent again.",
        f"- {m.repeated_blocks} blocked attempts by one person within "
        f"{m.repeated_blocks_minutes} minutes raise a **{m.repeated_blocks_level.value}** alert.",
        f"- Internet activity logs are kept for **{m.retention_days} days**, then deleted "
        "automatically.",
    ]
    return "\n".join(lines)


def _https_entry(entry: str) -> str:
    from schoolgate.engine.https_sets import SETS

    if entry.startswith("@") and entry[1:] in SETS:
        return SETS[entry[1:]].title
    if entry.startswith("category:"):
        category = CATEGORIES.get(entry.removeprefix("category:"))
        return f"category: {category.title}" if category else entry
    return entry


_DEFAULT_HTTPS_NOTICE = (
    "When you use the sites listed below on the school's network, the school's filter reads the "
    "full web address and the words you search for, checks them against this policy and records "
    "them; staff may be alerted. It does not read your passwords, and it never reads the sites "
    "it never inspects."
)


def _https(policy: Policy, notes: _Notes) -> str:
    """What the printed policy says about HTTPS: which sites are read, and who is told."""
    from schoolgate.engine.https_sets import PROTECTED_SETS, SETS

    https = policy.https
    never = [SETS[name].title for name in PROTECTED_SETS]
    never += ["the help services listed above", *map(_https_entry, https.never_inspect)]
    if not https.enabled:
        return (
            "## Secure (HTTPS) sites\n\nThe filter does not decrypt secure (HTTPS) sites: it "
            "decides on the name of the site only, and cannot see pages, searches or anything "
            "typed into them. Searches are kept safe by the search engines' own safe search."
            + notes.mark("Secure (HTTPS) sites", https.source)
        )
    notice = https.notice or _DEFAULT_HTTPS_NOTICE
    mark = notes.mark("Secure (HTTPS) sites and monitoring", https.source)
    return "\n".join(
        [
            "## Secure (HTTPS) sites and monitoring",
            "",
            f"**You are monitored.** {' '.join(notice.split())}{mark}",
            "",
            "The school's devices trust the school's own security certificate, so that the "
            "filter can read these secure sites: "
            + ", ".join(_https_entry(e) for e in https.inspect)
            + ".",
            "",
            "These are **never** read, whatever else this policy says: " + ", ".join(never) + ".",
            "",
            "Every other secure site is filtered by its name only.",
        ]
    )


def _agreements(policy: Policy, notes: _Notes) -> str:
    if not policy.agreements:
        return ""
    out = ["## Acceptable-use agreements"]
    for a in policy.agreements:
        mark = notes.mark(f"Agreement: {a.title}", a.source, a.comment)
        out += [
            "",
            f"### {a.title}",
            "",
            f"For {_groups_text(policy, a.groups)}; signed by {', '.join(a.signatories)}; "
            f"renewed {a.renew}.{mark}",
        ]
        if a.statements:
            out.append("")
            out += [f"- {_plain(s)}" for s in a.statements]
    return "\n".join(out)


_NAMING = {
    "no-names": "no names",
    "first-name": "first name only",
    "first-name-initial": "first name and initial",
    "full-name": "full name",
}


def _consents(policy: Policy, notes: _Notes) -> str:
    """Parents' consents (photographs, work, cloud, biometrics) and where images may appear."""
    if not policy.consents and not policy.publishing:
        return ""
    parts = ["## Consents and publishing pupils' images and work"]
    if policy.consents:
        rows = [
            (c.title, " and ".join(c.given_by), _plain(c.statement or "")) for c in policy.consents
        ]
        refs = [notes.ref(f"Consent: {c.title}", c.source, c.comment) for c in policy.consents]
        parts.append(_with_refs(["Consent", "Given by", "Wording on the form"], rows, refs))
    if policy.publishing:
        titles = {c.id: c.title for c in policy.consents}
        rows = [
            (
                p.title,
                "; ".join(titles.get(c, c) for c in p.consents),
                _NAMING[p.naming],
                "yes" if p.decision_required else "no",
            )
            for p in policy.publishing
        ]
        refs = [notes.ref(f"Publishing: {p.title}", p.source, p.comment) for p in policy.publishing]
        columns = ["Where", "Consents needed", "Names in captions", "Decision recorded first"]
        parts.append(
            "A child appears only where every consent listed is given.\n\n"
            + _with_refs(columns, rows, refs)
        )
    return "\n\n".join(parts)


def _training(policy: Policy, notes: _Notes) -> str:
    if not policy.training:
        return ""
    rows = [
        (
            t.title,
            _groups_text(policy, t.groups),
            f"within {t.induction_days} days of starting" if t.induction_days else "",
            f"every {t.renew_months} months" if t.renew_months else "once",
        )
        for t in policy.training
    ]
    refs = [notes.ref(f"Training: {t.title}", t.source, t.comment) for t in policy.training]
    columns = ["Training", "Who", "New starters", "Repeated"]
    return "## Training\n\n" + _with_refs(columns, rows, refs)


def _sanction_matrix(matrix: SanctionMatrix, notes: _Notes) -> str:
    mark = notes.mark(matrix.title, matrix.source)
    columns = ["Incident", *(a.title for a in matrix.actions)]
    rows: list[list[str]] = []
    for incident in matrix.incidents:
        marks = ["✓" if a.id in incident.actions else "" for a in matrix.actions]
        title = incident.title + (" (illegal)" if incident.illegal else "")
        rows.append([title, *marks])
    refs = [notes.ref(f"{matrix.title}: {i.title}", i.source) for i in matrix.incidents]
    intro = f"\n\nSuggested actions for each kind of incident.{mark}" if mark else ""
    return f"## {matrix.title}{intro}\n\n" + _with_refs(columns, rows, refs)


def _concerns(policy: Policy, notes: _Notes) -> str:
    categories = concern_categories(policy.concerns)
    if not categories:
        return ""
    rows = [
        (
            c.title + (" (do not view or copy images)" if c.do_not_view else ""),
            _plain(c.guidance),
            ", ".join(c.refer_to),
        )
        for c, _default in categories
    ]
    refs = [
        notes.ref(
            f"Concern: {c.title}",
            None if default else c.source,
            "Schoolgate default (the policy is silent)" if default else None,
        )
        for c, default in categories
    ]
    intro = (
        "A worry about a child's safety or wellbeing is recorded as a safeguarding concern, "
        "apart from ICT-misuse incidents: it never leads to a sanction."
        + notes.mark("Safeguarding concerns", policy.concerns.source)
    )
    columns = ["Concern", "First steps", "May be referred to"]
    return f"## Safeguarding concerns\n\n{intro}\n\n" + _with_refs(columns, rows, refs)


def _table(table: Table, notes: _Notes) -> str:
    mark = notes.mark(table.title, table.source, table.note)
    rows = [[_plain(c) for c in row] for row in table.rows]
    text = f"## {table.title}\n\n" + _markdown_table(table.columns, rows)
    return text + (f"\n\nWhere this table comes from: see{mark}." if mark else "")


def _approved_changes(policy: Policy) -> str:
    """STM-314/STM-315: every change since adoption, with who proposed and who approved it."""
    if not policy.approved_changes:
        return ""
    rows = [
        (
            c.id,
            f"{c.approved_at:%d %b %Y %H:%M}",
            _groups_text(policy, c.groups) + (f" ({', '.join(c.users)} only)" if c.users else ""),
            c.action.value,
            "every site" if c.sites == ["*"] else ", ".join(c.sites),
            f"{c.until:%d %b %Y %H:%M}" if c.until else "until withdrawn",
            c.reason,
            c.proposed_by,
            c.approved_by,
        )
        for c in policy.approved_changes
    ]
    columns = ["No.", "Approved", "Who", "Action", "Sites", "Until", "Reason", "Proposed by",
               "Approved by"]  # fmt: skip
    return (
        "## Appendix: filter changes approved since adoption\n\n"
        "Each change was proposed by one person and approved by another, and takes precedence "
        "over the lists above; none can open illegal content or close a help service.\n\n"
        + _markdown_table(columns, rows)
    )


def _alert_exclusions(policy: Policy) -> str:
    """Monitoring false positives fixed with four eyes (issue 13; STM-315), like the changes."""
    if not policy.alert_exclusions:
        return ""
    rows = [
        (
            e.id,
            f"{e.approved_at:%d %b %Y %H:%M}",
            "a site's alerts" if e.kind == "site" else "search words",
            e.value,
            e.reason,
            e.proposed_by,
            e.approved_by,
        )
        for e in policy.alert_exclusions
    ]
    columns = ["No.", "Approved", "Excludes", "Site or words", "Reason", "Proposed by",
               "Approved by"]  # fmt: skip
    return (
        "## Appendix: monitoring exclusions approved since adoption\n\n"
        "Each stops alerts that were false alarms; it changes nothing that is blocked or "
        "allowed, and never applies to illegal content or attempts to get round the filter.\n\n"
        + _markdown_table(columns, rows)
    )


def _where_from(notes: _Notes) -> str:
    """The appendix: per reference number, the written policy's words, ids and the note."""
    if not notes.refs:
        return ""
    rows = []
    for r in notes.refs:
        s = r.source
        written = f"{s.section}: “{' '.join(s.quote.split())}”" if s else ""
        ids = ", ".join(
            sorted(set(s.requirements if s else []) | set(REQUIREMENT_ID.findall(r.note)))
        )
        rows.append((r.number, r.what, written, ids, r.note))
    return (
        f"{_WHERE_FROM}\n\n"
        "For each reference number in the text: what it refers to, the section and words of the "
        "school's written policy it carries out, the requirement ids of Schoolgate's analysis of "
        "that policy, and a note on how it is carried out where the written words needed "
        "reading.\n\n"
        + _markdown_table(["Ref.", "Refers to", "Written policy", "Requirements", "Note"], rows)
    )


def _history(policy: Policy, records: PrintRecords) -> str:
    """The written policy's own dates and earlier approvals, shown as history only."""
    school = policy.school
    lines = []
    for day, words in records.history:
        lines.append(f"- {long_date(day)}: {words}")
    if school.approved or school.next_review:
        said = []
        if school.approved:
            said.append(f"approved {_month(school.approved)}")
        if school.next_review:
            said.append(f"with its review then due {_month(school.next_review)}")
        lines.append(
            "- The school's written policy this document carries out was "
            + " ".join(said)
            + ". These dates are history; the current dates are at the top."
        )
    if not lines:
        return ""
    return "## Appendix: document history\n\n" + "\n".join(lines)


def _month(value: str) -> str:
    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", value)
    if not match:
        return value
    year, month, day = match.groups()
    shown = date(int(year), int(month), int(day or 1))
    return long_date(shown) if day else f"{shown:%B %Y}"


_BLANK_CELL = f'<td class="blank">{BLANK}</td>'
"""A name still to be written in: a cell wide enough to write it by hand."""

_HTML_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
{body}
</body>
</html>
"""

_CSS = """
body { font-family: "DejaVu Sans", system-ui, sans-serif; max-width: 62rem; margin: 2rem auto;
  line-height: 1.4; color: #1a1a1a; padding: 0 1rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.85rem; width: 100%; }
th, td { border: 1px solid #999; padding: 0.25rem 0.4rem; vertical-align: top; text-align: left;
  overflow-wrap: break-word; hyphens: auto; }
th { background: #eef; }
thead { display: table-header-group; }
h1 { border-bottom: 2px solid #335; }
section.wide table { font-size: 0.75rem; }
td.blank { min-width: 36mm; color: #777; }
nav.screen-only { background: #eef; padding: 0.5rem 0.8rem; border-radius: 4px; }
@page { size: A4; margin: 16mm 12mm 16mm 12mm;
  @top-left { content: @@RUNNING@@; font: 8pt "DejaVu Sans", sans-serif; color: #555; }
  @bottom-left { content: @@FOOT@@; font: 8pt "DejaVu Sans", sans-serif; color: #555; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages);
    font: 8pt "DejaVu Sans", sans-serif; color: #555; } }
@page wide { size: A4 landscape; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10pt; }
  .screen-only { display: none; }
  table { font-size: 8.5pt; }
  section.wide { page: wide; }
  section.wide table { font-size: 7.5pt; }
  h1, h2, h3, p:has(+ table) { break-after: avoid; }
  tr { break-inside: avoid; }
}
"""
