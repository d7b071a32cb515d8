"""The application works with each school's real policy file, when it is in the repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from schoolgate.app.cases import workflow
from schoolgate.app.cases.models import Source
from schoolgate.app.policy import incident_choices

from .conftest import signed_in

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
# The five seed schools (000-004); each must load and drive the case page.
SCHOOLS = ["thomas-mills", "st-thomas-more", "st-hilarys", "cavendish", "heanor-gate"]


def test_every_school_policy_is_covered() -> None:
    assert {p.stem for p in POLICY_DIR.glob("*.yaml")} >= set(SCHOOLS)


@pytest.mark.parametrize("school", SCHOOLS)
def test_case_page_and_sanctions_with_real_policy(school, people, settings) -> None:
    path = POLICY_DIR / f"{school}.yaml"
    assert path.exists(), f"{path} is missing"
    settings.SCHOOLGATE_POLICY = path
    choices = incident_choices()
    case = workflow.open_case(
        people["teacher"], Source.STAFF, {"summary": "s", "details": "d"}, [people["pupil"]]
    )
    dsl = signed_in(people["dsl"])
    assert dsl.get(reverse("case-detail", args=[case.pk])).status_code == 200
    if not choices:  # a school whose policy has no sanction matrix (e.g. TM-011)
        return
    pupil_choice = next((c for c in choices if c.applies_to == "pupil"), choices[0])
    dsl.post(
        reverse("case-triage", args=[case.pk]),
        {"incident_type": pupil_choice.key, "status": "triaged"},
    )
    case.refresh_from_db()
    assert case.incident_type == pupil_choice.key
    page = dsl.get(reverse("case-detail", args=[case.pk])).content.decode()
    for action in pupil_choice.suggested_actions():
        assert f'value="{action.id}"' in page


def test_st_thomas_more_matrix_when_present(people, settings) -> None:
    path = POLICY_DIR / "st-thomas-more.yaml"
    if not path.exists():
        pytest.skip("policies/st-thomas-more.yaml not written yet")
    settings.SCHOOLGATE_POLICY = path
    keys = {c.key for c in incident_choices()}
    assert any(k.startswith("pupil:") for k in keys) and any(k.startswith("staff:") for k in keys)
    illegal = [c for c in incident_choices() if c.incident.illegal]
    assert illegal, "STM-178: deliberately accessing illegal material is in the pupil matrix"
    assert any(a.id == "refer-police" for a in illegal[0].suggested_actions())
