"""Timelines in plain words, not audit codes (issue 13)."""

from __future__ import annotations

import pytest

from schoolgate.app.audit.words import _WORDS, describe, who


@pytest.mark.parametrize("action", sorted(_WORDS))
def test_every_known_action_reads_as_words(action) -> None:
    text = describe(action, {})
    assert "." not in text.split(" ")[0] and text != action


def test_details_are_worded() -> None:
    assert (
        describe("concern.from-alert", {"alert": 7, "category": "self-harm"})
        == "Opened from monitoring alert A-000007 as Self-harm"
    )
    task = {"assigned_to": "Dev Deputy", "due": "2026-12-04", "title": "Call home"}
    assert describe("concern.task", task) == "Task for Dev Deputy by 04/12/2026: Call home"
    triage = {"incident_type": "pupil:social-media", "status": "triaged", "note": ""}
    assert describe("case.triage", triage) == (
        "Triaged as Pupil incidents: Unauthorised use of social media / messaging apps / "
        "personal email; status Triaged"
    )
    actions = {"chosen": ["warning"], "added": ["warning"], "dropped": [], "reason": "r"}
    assert describe("case.actions", actions) == "Applied Warning (added Warning). Reason: r"
    changed = {"changed": {"priority": ["medium", "urgent"]}, "reason": ""}
    assert describe("concern.update", changed) == "Updated priority Medium → Urgent"


def test_unknown_actions_are_shown_not_hidden() -> None:
    assert describe("something.new", {"x": 1}) == "something.new"
    assert who("Dana Lead (dana-lead)") == "Dana Lead" and who("system") == "Schoolgate"
