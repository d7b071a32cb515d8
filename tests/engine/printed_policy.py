"""Reading a rendered policy back in tests: its main text, and its "where each rule comes from"
appendix as rows by reference number."""

from __future__ import annotations

import re

APPENDIX = "## Appendix: where each rule comes from"


def main_text(markdown: str) -> str:
    """Everything before the appendices a reader skips (filter-change log included: it is read)."""
    return markdown.split(APPENDIX, 1)[0]


def appendix_rows(markdown: str) -> dict[str, list[str]]:
    """Reference number -> [refers to, written policy, requirement ids, note]."""
    section = markdown.split(APPENDIX, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and cells[0].isdigit():
            rows[cells[0]] = cells[1:]
    return rows


def refs_in(text: str) -> list[str]:
    """The reference numbers cited in a piece of main text: `[12]` marks and Ref. cells."""
    marks = re.findall(r"\[(\d+)\]", text)
    cells = re.findall(r"\| (\d+) \|$", text, flags=re.MULTILINE)
    return marks + cells


def source_of(markdown: str, section_text: str) -> str:
    """All appendix rows cited by `section_text`, joined: what a reader finds by following refs."""
    rows = appendix_rows(markdown)
    return "\n".join(" | ".join(rows[n]) for n in refs_in(section_text))
