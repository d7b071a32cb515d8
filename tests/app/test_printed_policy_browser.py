"""Real chromium prints the staff app's printed policy to PDF (issue 12): every page is A4, the
wide St Thomas More matrices are on landscape pages, no table or cell is wider than the page it
prints on, and each page carries the school's name and "Page n of N". The dates are those of the
signed-off review (STM-004, STM-006). `SCHOOLGATE_SCREENSHOTS=1` refreshes
docs/screens/printed-policy-*.png (pages of the PDF itself, drawn by poppler's pdftoppm)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from schoolgate.app.reviews.models import Review
from schoolgate.app.reviews.register import printed_register, roles_register
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.policy.render import PrintRecords, render_html

from .browser_pages import BROWSER_TESTS, SCREENS, sign_in
from .conftest import make_user

POLICIES = Path(__file__).resolve().parents[2] / "policies"
A4_PORTRAIT = (595.92, 842.88)  # points, as chromium writes them (±1)
MM = 96 / 25.4  # CSS pixels per millimetre
MARGIN_MM = 12  # left and right page margins in render.py's @page rule

pytestmark = BROWSER_TESTS

# Elements wider than the section (the printable width) or cells whose content spills out.
_OVERFLOWS = """(wide) => {
  const out = [];
  for (const section of document.querySelectorAll(wide ? 'section.wide' : 'section:not(.wide)')) {
    const limit = section.getBoundingClientRect().right + 0.5;
    const heading = (section.querySelector('h1, h2, h3') || {}).textContent || '';
    for (const el of section.querySelectorAll('table, th, td, p, li')) {
      const box = el.getBoundingClientRect();
      if (box.right > limit || el.scrollWidth > el.clientWidth + 1)
        out.push(`${heading}: <${el.tagName}> ${el.textContent.slice(0, 40)}`);
    }
  }
  return out;
}"""


def _page_boxes(pdf: bytes) -> list[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(float(w), float(h)) for w, h in boxes]


def _is_a4(box: tuple[float, float]) -> bool:
    return all(abs(a - b) <= 1.5 for a, b in zip(sorted(box), A4_PORTRAIT, strict=True))


def test_printed_policy_is_a4_and_no_table_overflows_stm_006(
    live_server, browser, transactional_db, settings, tmp_path
) -> None:
    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    governor = make_user("governor", "gill.governor", first_name="Gill", last_name="Governor")
    Review.objects.create(
        due_on="2017-12-01",
        checklist={"roles": True},
        outcome="Fit for the school.",
        signed_off_by=governor,
        signed_off_name="Gill Governor",
        signed_off_position="Online Safety Governor",
        signed_off_at=datetime(2026, 2, 10, 16, 0, tzinfo=ZoneInfo("Europe/London")),
    )
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    sign_in(page, live_server.url, "gill.governor")
    page.click("header nav >> text=Reviews")
    page.click("#printed-policy")
    assert "Approved: 10 February 2026" in page.inner_text("section >> nth=0")
    assert page.locator("nav.screen-only >> text=Back to the reviews").is_visible()
    # The printable width of a portrait page, then of a landscape one (A4 less the margins).
    assert _overflows(page) == []
    assert not page.locator("nav.screen-only").is_visible()  # not on paper
    assert page.locator("section.wide").count() >= 2  # the sanction matrices and the user actions

    pdf = page.pdf(prefer_css_page_size=True)
    boxes = _page_boxes(pdf)
    assert len(boxes) > 10 and all(_is_a4(b) for b in boxes), boxes[:5]
    assert any(w > h for w, h in boxes) and any(w < h for w, h in boxes)
    path = tmp_path / "st-thomas-more.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        pages = text.split("\f")[:-1]
        assert len(pages) == len(boxes)
        for number, printed in enumerate(pages, start=1):
            assert "St Thomas More Primary School" in printed
            assert f"Page {number} of {len(boxes)}" in printed
            assert "Approved 10 February 2026" in printed
    if shutil.which("pdftoppm"):
        SCREENS.mkdir(parents=True, exist_ok=True)
        landscape = next(i for i, (w, h) in enumerate(boxes, start=1) if w > h)
        for name, number in (("first", 1), ("landscape", landscape), ("appendix", len(boxes) - 1)):
            subprocess.run(
                ["pdftoppm", "-png", "-r", "60", "-singlefile", "-f", str(number), "-l",
                 str(number), str(path), str(SCREENS / f"printed-policy-{name}")],
                check=True,
            )  # fmt: skip


def _overflows(page) -> list[str]:
    """Overflowing elements at the printable width of portrait, then of landscape, A4 pages."""
    page.emulate_media(media="print")
    found = []
    for wide, width_mm in ((False, 210 - 2 * MARGIN_MM), (True, 297 - 2 * MARGIN_MM)):
        page.set_viewport_size({"width": int(width_mm * MM), "height": 1000})
        found += page.evaluate(_OVERFLOWS, wide)
    return found


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_policy_prints_on_a4_without_overflow(browser, path: Path) -> None:
    """The other schools' tables too (Cavendish's breach matrices, Heanor Gate's sanctions)."""
    policy = load_policy(path)
    records = PrintRecords(responsible=printed_register(roles_register(policy)))
    page = browser.new_page()
    page.set_content(render_html(policy, records))
    assert _overflows(page) == []
    boxes = _page_boxes(page.pdf(prefer_css_page_size=True))
    assert boxes and all(_is_a4(b) for b in boxes)
    page.close()
