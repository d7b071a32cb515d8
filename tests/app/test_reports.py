"""Incident log and reporting log exports, and governors' anonymised figures."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from schoolgate.app.cases import workflow
from schoolgate.app.cases.disclosure import suppress
from schoolgate.app.cases.models import Case, Source
from schoolgate.app.cases.reports import INCIDENT_LOG_COLUMNS, REPORTING_LOG_COLUMNS
from schoolgate.app.cases.terms import TermError, parse_term

from .conftest import signed_in

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def autumn_cases(people) -> list[Case]:
    cases = []
    for day, who, incident in (
        (6, "pupil", "pupil:subverting-filtering"),
        (20, "pupil-2", "pupil:social-media"),
        (3, "pupil-2", "pupil:social-media"),
    ):
        case = workflow.open_case(
            people["teacher"],
            Source.STAFF,
            {"summary": "s", "details": f"details {day}", "room": "IT2", "device": "PC-3"},
            [people[who]],
        )
        month = 10 if day != 3 else 11
        Case.objects.filter(pk=case.pk).update(
            reported_at=datetime(2025, month, day, 11, 0, tzinfo=LONDON), incident_type=incident
        )
        case.refresh_from_db()
        cases.append(case)
    workflow.apply_actions(cases[0], people["dsl"], ["refer-class-teacher"], "first time")
    return cases


def test_incident_log_csv_has_the_seed_columns(people, autumn_cases) -> None:
    response = signed_in(people["dsl"]).get(reverse("incident-log-csv") + "?term=2025-autumn")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == INCIDENT_LOG_COLUMNS  # CAV-077
    assert len(rows) == 4
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Date & Time"] == "06/10/2025 11:00"
    assert first["Name of pupil or staff member"] == people["pupil"].get_full_name()
    assert first["Room and computer/device number"] == "IT2 / PC-3"
    assert "Refer to class teacher — first time" in first["Actions and reasons"]


def test_reporting_log_printable_page(people, autumn_cases) -> None:
    page = signed_in(people["dsl"]).get(reverse("reporting-log") + "?term=2025-autumn")
    text = page.content.decode()
    for column in REPORTING_LOG_COLUMNS:  # STM-285
        assert column in text
    assert "Using proxy sites" in text and "8B" in text
    csv_text = signed_in(people["dsl"]).get(reverse("reporting-log-csv") + "?term=2025-autumn")
    assert len(list(csv.reader(io.StringIO(csv_text.content.decode())))) == 4


def test_governor_report_counts_without_names(people, autumn_cases) -> None:
    response = signed_in(people["governor"]).get(reverse("governor-report") + "?term=2025-autumn")
    text = response.content.decode()
    # Three cases: every figure is 1-4, so none is shown exactly.
    assert "<strong>fewer than 5</strong> incidents" in text
    assert "October 2025</td><td>fewer than 5" in text
    assert "November 2025</td><td>fewer than 5" in text
    assert "Year 8</td><td>fewer than 5" in text and "Year 10</td><td>fewer than 5" in text
    for role, person in people.items():
        if role == "governor":  # their own name is in the page header
            continue
        assert person.last_name not in text and person.username not in text
    assert "details 6" not in text


def test_small_counts_are_suppressed_and_cannot_be_worked_out(people, autumn_cases) -> None:
    """A lone Year 8 incident must not show, nor follow from total minus the other rows."""
    for _ in range(6):
        case = workflow.open_case(
            people["teacher"], Source.STAFF, {"summary": "s", "details": "d"}, [people["pupil-2"]]
        )
        Case.objects.filter(pk=case.pk).update(
            reported_at=datetime(2025, 10, 1, 9, 0, tzinfo=LONDON)
        )
    text = (
        signed_in(people["governor"]).get(reverse("governor-report") + "?term=2025-autumn")
    ).content.decode()
    assert "<strong>9</strong> incidents" in text
    assert "Year 8</td><td>fewer than 5" in text  # primary: 1
    assert "Year 10</td><td>5 or more" in text  # secondary: 8 would give away 9 - 8 = 1
    assert "October 2025</td><td>5 or more" in text
    assert "November 2025</td><td>fewer than 5" in text


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("a", 0), ("b", 5)], ["0", "5"]),
        ([("a", 4), ("b", 5), ("c", 9)], ["fewer than 5", "5 or more", "9"]),
        ([("a", 1), ("b", 2), ("c", 9)], ["fewer than 5", "fewer than 5", "9"]),
        ([("a", 3)], ["fewer than 5"]),
        ([("a", 12), ("b", 7)], ["12", "7"]),
    ],
)
def test_suppression_rules(rows, expected) -> None:
    assert [shown for _, shown in suppress(rows)] == expected


def test_bad_term_is_explained(people) -> None:
    response = signed_in(people["governor"]).get(reverse("governor-report") + "?term=autumn")
    assert response.status_code == 400 and b"like 2025-autumn" in response.content
    with pytest.raises(TermError):
        parse_term("2025-winter")


@pytest.mark.parametrize(
    "payload",
    ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "  =cmd|' /C calc'!A0", "＝1"],
)
def test_csv_cells_that_would_run_as_formulas_are_escaped(people, autumn_cases, payload) -> None:
    """Issue 9 (3): a report's text became a formula when the lead opened the export."""
    Case.objects.filter(pk=autumn_cases[0].pk).update(room=payload, device=payload)
    for name in ("incident-log-csv", "reporting-log-csv"):
        response = signed_in(people["dsl"]).get(reverse(name) + "?term=2025-autumn")
        for row in csv.reader(io.StringIO(response.content.decode())):
            for cell in row:
                assert cell.lstrip(" ")[:1] not in set("=+-@\t\r＝"), (name, cell)
    rows = list(
        csv.reader(
            io.StringIO(
                signed_in(people["dsl"])
                .get(reverse("incident-log-csv") + "?term=2025-autumn")
                .content.decode()
            )
        )
    )
    assert dict(zip(rows[0], rows[1], strict=True))["Room and computer/device number"] == (
        f"'{payload} / {payload}"
    )


def test_request_counts_hide_small_cells_without_banding_others() -> None:
    assert [s for _, s in suppress([("a", 303), ("b", 3)], secondary=False)] == [
        "303",
        "fewer than 5",
    ]
