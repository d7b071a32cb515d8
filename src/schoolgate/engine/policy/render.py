"""Write a policy back as the readable document a school prints: Markdown, and HTML from it.

Every enforceable rule is shown in words with the policy text it comes from, and the policy's
matrices (sanctions, who may use what) are shown as tables, so the printed policy and the running
policy are one and the same.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import time
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


def render_markdown(policy: Policy) -> str:
    sections = [
        _title(policy),
        _contacts(policy),
        _groups(policy),
        _periods(policy),
        _filtering(policy),
        _rules(policy),
        _site_lists(policy),
        _support(policy),
        _monitoring(policy),
        _https(policy),
        _agreements(policy),
        *(_sanction_matrix(m) for m in policy.sanctions),
        _concerns(policy),
        *(_table(t) for t in policy.tables),
        _approved_changes(policy),
    ]
    return "\n\n".join(s for s in sections if s).rstrip() + "\n"


def render_html(policy: Policy) -> str:
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(render_markdown(policy))
    title = html.escape(f"{policy.school.name}: {policy.school.policy_title}")
    return _HTML_PAGE.format(title=title, body=body)


def write_documents(policy: Policy, folder: Path) -> list[Path]:
    """Write `<school-id>.md` and `<school-id>.html` into `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in (("md", render_markdown(policy)), ("html", render_html(policy))):
        path = folder / f"{policy.school.id}.{suffix}"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


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


def _cite(source: Source | None) -> str:
    if source is None:
        return ""
    refs = f" [{', '.join(source.requirements)}]" if source.requirements else ""
    return f"{source.section}: “{' '.join(source.quote.split())}”{refs}"


def _groups_text(policy: Policy, groups: list[str]) -> str:
    if ALL_GROUPS in groups:
        return "everyone"
    titles = {g.id: g.title for g in policy.groups}
    return ", ".join(titles.get(g, g) for g in groups)


def _title(policy: Policy) -> str:
    school = policy.school
    lines = [f"# {school.name}: {school.policy_title}", ""]
    facts = [
        ("Approved", school.approved),
        ("Next review", school.next_review),
        ("Source document", school.source_document),
        ("Time zone", school.timezone),
    ]
    lines += [f"- **{label}:** {value}" for label, value in facts if value]
    lines += ["", "This document is generated from the policy file that Schoolgate enforces."]
    return "\n".join(lines)


def _contacts(policy: Policy) -> str:
    if not policy.contacts:
        return ""
    rows = [(c.title, c.name or "", c.email or "", "; ".join(c.duties)) for c in policy.contacts]
    return "## Roles and contacts\n\n" + _markdown_table(["Role", "Name", "E-mail", "Duties"], rows)


def _groups(policy: Policy) -> str:
    rows = [
        (
            g.title,
            g.id,
            g.description,
            "yes" if g.walled_garden else "no",
            "yes" if g.agreement_required else "no",
            "yes" if g.safe_search else "no",
        )
        for g in policy.groups
    ]
    columns = ["Group", "Id", "Who", "Approved sites only", "Agreement first", "Safe search"]
    return "## Groups of users\n\n" + _markdown_table(columns, rows)


def _periods(policy: Policy) -> str:
    if not policy.periods:
        return ""
    rows = [
        (p.title, ", ".join(d.value.title() for d in p.days), f"{p.start:%H:%M}–{_clock(p.end)}")
        for p in policy.periods
    ]
    return "## The school week\n\n" + _markdown_table(["Period", "Days", "Times"], rows)


def _clock(moment: time) -> str:
    return "24:00" if moment == time.max else f"{moment:%H:%M}"


def _filtering(policy: Policy) -> str:
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
    if f.source:
        lines.append(f"- Source: {_cite(f.source)}")
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


def _rules(policy: Policy) -> str:
    if not policy.rules:
        return ""
    rows = [
        (
            _groups_text(policy, r.groups),
            ", ".join(CATEGORIES[c].title if c in CATEGORIES else c for c in r.categories),
            r.action.value,
            _when(policy, r) + (" (nominated users only)" if r.nominated_only else ""),
            r.alert.value,
            _cite(r.source) + (f" — *{r.comment}*" if r.comment else ""),
        )
        for r in policy.rules
    ]
    columns = ["Who", "Categories", "Action", "When", "Alert", "From the policy"]
    return (
        "## Access rules\n\nRead top to bottom: for each category the first rule that applies "
        "decides.\n\n" + _markdown_table(columns, rows)
    )


def _site_lists(policy: Policy) -> str:
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
            _cite(s.source),
        )
        for s in own
    ]
    columns = ["List", "Who", "Action", "When", "Sites", "From the policy"]
    return "## Named sites\n\n" + _markdown_table(columns, rows)


def _support(policy: Policy) -> str:
    if not policy.support_services:
        return ""
    rows = [(s.name, ", ".join(s.sites)) for s in policy.support_services]
    return (
        "## Help that is never blocked\n\nThese services are reachable for every user, "
        "whatever any list says.\n\n" + _markdown_table(["Service", "Sites"], rows)
    )


def _text_thresholds(policy: Policy) -> str:
    """The text model's score for each alert level, per theme (policy or shipped default)."""
    defaults = default_thresholds()
    rows = []
    for theme in TEXT_MODEL_THEMES:
        chosen = policy.text_thresholds.get(theme)
        levels = chosen.levels() if chosen is not None else defaults[theme]
        cells = [f"{v:.2f}" if v is not None else "never" for v in levels.values()]
        origin = _cite(chosen.source) if chosen and chosen.source else ""
        rows.append((theme, *cells, origin or ("this policy" if chosen else "default")))
    return (
        "### Text model thresholds\n\nBesides the keyword libraries, a learned text model "
        "scores each search from 0 to 1 per theme. From the score shown it raises that alert "
        'level on its own; "never": the model alone never raises that level.\n\n'
        + _markdown_table(["Theme", "Low", "Medium", "High", "Set by"], rows)
    )


def _monitoring(policy: Policy) -> str:
    parts: list[str] = []
    if policy.keyword_rules:
        rows = [
            (
                k.library,
                _groups_text(policy, k.groups),
                k.action.value,
                k.alert.value,
                ", ".join(k.extra_terms),
                _cite(k.source),
            )
            for k in policy.keyword_rules
        ]
        columns = ["Keyword library", "Who", "Action", "Alert", "Extra terms", "From the policy"]
        parts.append("### Searches\n\n" + _markdown_table(columns, rows))
        parts.append(_text_thresholds(policy))
    if policy.category_alerts:
        rows = [
            (", ".join(a.categories), a.alert.value, _cite(a.source))
            for a in policy.category_alerts
        ]
        parts.append(
            "### Alerts on categories\n\n"
            + _markdown_table(["Categories", "Alert", "From the policy"], rows)
        )
    if policy.alert_routes:
        titles = {c.role: c.title for c in policy.contacts}
        rows = [
            (
                r.level.value,
                ", ".join(titles.get(n, n) for n in r.notify),
                r.within or "",
                _cite(r.source),
            )
            for r in policy.alert_routes
        ]
        parts.append(
            "### Who is told\n\n"
            + _markdown_table(["Alert level", "Notify", "Within", "From the policy"], rows)
        )
    parts.append(_out_of_hours_and_retention(policy))
    ss = policy.safe_search
    parts.append(
        f"### Safe search\n\nSafe search is enforced for {_groups_text(policy, ss.groups)}; "
        f"YouTube restricted mode: {ss.youtube}."
    )
    return "## Monitoring and alerts\n\n" + "\n\n".join(parts)


def _out_of_hours_and_retention(policy: Policy) -> str:
    m = policy.monitoring
    titles = {c.role: c.title for c in policy.contacts}
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
    lines = [
        "### Out of hours, repeats and how long logs are kept",
        "",
        f"- {calls}",
        f"- Repeats of an alert for the same person and theme within {m.dedupe_minutes} minutes "
        "are counted on one alert, not sent again.",
        f"- {m.repeated_blocks} blocked attempts by one person within "
        f"{m.repeated_blocks_minutes} minutes raise a **{m.repeated_blocks_level.value}** alert.",
        f"- Internet activity logs are kept for **{m.retention_days} days**, then deleted "
        "automatically.",
    ]
    if m.comment:
        lines.append(f"- Why: {m.comment}")
    if m.source:
        lines.append(f"- From the policy: {_cite(m.source)}")
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


def _https(policy: Policy) -> str:
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
        )
    notice = https.notice or _DEFAULT_HTTPS_NOTICE
    lines = [
        "## Secure (HTTPS) sites and monitoring",
        "",
        f"**You are monitored.** {' '.join(notice.split())}",
        "",
    ]
    if https.source is not None:
        lines += [f"> {_cite(https.source)}", ""]
    lines += [
        "The school's devices trust the school's own security certificate, so that the filter "
        "can read these secure sites: " + ", ".join(_https_entry(e) for e in https.inspect) + ".",
        "",
        "These are **never** read, whatever else this policy says: " + ", ".join(never) + ".",
        "",
        "Every other secure site is filtered by its name only.",
    ]
    return "\n".join(lines)


def _agreements(policy: Policy) -> str:
    if not policy.agreements:
        return ""
    out = ["## Acceptable-use agreements"]
    for a in policy.agreements:
        out += [
            "",
            f"### {a.title}",
            "",
            f"For {_groups_text(policy, a.groups)}; signed by {', '.join(a.signatories)}; "
            f"renewed {a.renew}.",
        ]
        if a.statements:
            out.append("")
            out += [f"- {' '.join(s.split())}" for s in a.statements]
        if a.comment:
            out += ["", f"*{a.comment}*"]
    return "\n".join(out)


def _sanction_matrix(matrix: SanctionMatrix) -> str:
    columns = ["Incident", *(a.title for a in matrix.actions)]
    rows: list[list[str]] = []
    for incident in matrix.incidents:
        marks = ["✓" if a.id in incident.actions else "" for a in matrix.actions]
        title = incident.title + (" (illegal)" if incident.illegal else "")
        rows.append([title, *marks])
    return f"## {matrix.title}\n\n" + _markdown_table(columns, rows)


def _concerns(policy: Policy) -> str:
    categories = concern_categories(policy.concerns)
    if not categories:
        return ""
    rows = [
        (
            c.title + (" (do not view or copy images)" if c.do_not_view else ""),
            c.guidance,
            ", ".join(c.refer_to),
            "Schoolgate default (the policy is silent)" if default else _cite(c.source),
        )
        for c, default in categories
    ]
    intro = (
        "A worry about a child's safety or wellbeing is recorded as a safeguarding concern, "
        "apart from ICT-misuse incidents: it never leads to a sanction."
    )
    cite = _cite(policy.concerns.source)
    columns = ["Concern", "First steps", "May be referred to", "From the policy"]
    return f"## Safeguarding concerns\n\n{intro}{' ' + cite if cite else ''}\n\n" + _markdown_table(
        columns, rows
    )


def _table(table: Table) -> str:
    text = f"## {table.title}\n\n" + _markdown_table(table.columns, table.rows)
    extras = [table.note or "", _cite(table.source)]
    return text + "".join(f"\n\n{e}" for e in extras if e)


_HTML_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.45;
  color: #1a1a1a; padding: 0 1rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; width: 100%; }}
th, td {{ border: 1px solid #999; padding: 0.3rem 0.5rem; vertical-align: top; text-align: left; }}
th {{ background: #eef; }}
h1 {{ border-bottom: 2px solid #335; }}
@media print {{ body {{ margin: 0; max-width: none; }} h2 {{ break-before: auto; }}
  table {{ break-inside: auto; }} tr {{ break-inside: avoid; }} }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


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
