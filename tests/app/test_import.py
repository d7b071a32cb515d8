"""Directory import from school information system CSV exports."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from schoolgate.app.people import csv_import
from schoolgate.app.people.models import User

from .conftest import signed_in

PUPILS = """UPN,Legal Surname,Forename,Year,Reg Group,DOB,Gender
A123456789012,Smith,Amy,Year 8,8B,14/03/2012,F
B123456789012,Jones,Ben,10,10C,02/11/2009,M
"""
BAD_PUPILS = """UPN,Legal Surname,Forename,Year,Reg Group,DOB
A123456789012,Smith,Amy,8,8B,14/03/2012
NOTAUPN,Jones,Ben,10,10C,02/11/2009
C123456789012,,Cara,15,9A,31/02/2011
A123456789012,Smith,Amy,8,8B,14/03/2012
"""
STAFF = """Staff Code,Surname,Forename,Email,Role,Job Title
DLE,Lead,Dee,d.lead@school.example,DSL,Assistant Principal
TTE,Teach,Tom,t.teach@school.example,teacher,Teacher of Maths
"""
PARENTS = """Contact Forename,Contact Surname,Email,Child UPN
Pat,Smith,pat@home.example,A123456789012
"""


def _upload(client, kind: str, text: str):
    return client.post(
        reverse("import-people"), {"kind": kind, "file": SimpleUploadedFile("x.csv", text.encode())}
    )


def test_preview_then_import_then_reimport_updates(people) -> None:
    client = signed_in(people["network-manager"])
    preview = _upload(client, "pupils", PUPILS)
    assert b"2 new" in preview.content
    assert not User.objects.filter(upn="A123456789012").exists()  # preview writes nothing
    client.post(reverse("import-confirm"))
    amy = User.objects.get(upn="A123456789012")
    assert (amy.year, amy.key_stage, amy.registration_group, amy.sex) == ("8", "KS3", "8B", "F")
    assert str(amy.date_of_birth) == "2012-03-14" and not amy.has_usable_password()
    moved = PUPILS.replace("8,8B", "8,8C").replace("Year 8,8B", "Year 8,8C")
    preview = _upload(client, "pupils", moved)
    assert b"0 new, 1 to update, 1 unchanged" in preview.content
    client.post(reverse("import-confirm"))
    assert User.objects.filter(upn="A123456789012").count() == 1
    assert User.objects.get(upn="A123456789012").registration_group == "8C"


def test_every_bad_row_is_named_and_nothing_is_imported(people) -> None:
    preview = csv_import.read_csv("pupils", BAD_PUPILS)
    problems = {r.line: r.errors for r in preview.bad_rows}
    assert set(problems) == {3, 4, 5}
    assert "UPN 'NOTAUPN'" in problems[3][0]
    assert any("last name is empty" in e for e in problems[4])
    assert any("year '15'" in e for e in problems[4])
    assert any("date of birth '31/02/2011'" in e for e in problems[4])
    assert "also on line 2" in problems[5][0]
    client = signed_in(people["dsl"])
    page = _upload(client, "pupils", BAD_PUPILS).content.decode()
    assert "Nothing will be imported" in page
    client.post(reverse("import-confirm"))
    assert not User.objects.filter(upn="A123456789012").exists()


def test_missing_columns_are_reported_with_the_header(db) -> None:
    import pytest

    with pytest.raises(csv_import.ImportError_, match="line 1: the header lacks columns for upn"):
        csv_import.read_csv("pupils", "Surname,Forename,Year,Reg\nA,B,7,7A\n")


def test_staff_and_parents_linked_to_children(people) -> None:
    for kind, text in (("pupils", PUPILS), ("staff", STAFF), ("parents", PARENTS)):
        preview = csv_import.read_csv(kind, text)
        assert preview.ok, [r.errors for r in preview.bad_rows]
        csv_import.apply(preview)
    dee = User.objects.get(staff_code="DLE")
    assert (dee.role, dee.username, dee.job_title) == ("dsl", "dle", "Assistant Principal")
    pat = User.objects.get(email="pat@home.example")
    assert pat.role == "parent" and list(pat.children.values_list("upn", flat=True)) == [
        "A123456789012"
    ]
    orphan = csv_import.read_csv("parents", PARENTS.replace("A1234", "Z1234"))
    assert "no pupil with UPN" in orphan.bad_rows[0].errors[0]


def test_several_carers_per_child_and_children_per_carer_stm_230(people) -> None:
    """Issue 11: countersignatures and consents come from the carers linked here."""
    pupils = PUPILS.strip() + "\n"
    assert csv_import.apply(csv_import.read_csv("pupils", pupils))
    upns = list(User.objects.filter(role="pupil").exclude(upn=None).values_list("upn", flat=True))
    first, second = upns[0], upns[1]
    text = (
        "Contact Forename,Contact Surname,Email,Child UPN\n"
        f"Pat,Smith,pat@home.example,{first}\n"
        f"Sam,Smith,sam@home.example,{first}\n"
        f"Pat,Smith,pat@home.example,{second}\n"
    )
    preview = csv_import.read_csv("parents", text)
    assert preview.ok and preview.counts()["new"] == 3
    csv_import.apply(preview)
    child = User.objects.get(upn=first)
    assert sorted(child.parents.values_list("email", flat=True)) == [
        "pat@home.example",
        "sam@home.example",
    ]
    assert User.objects.get(email="pat@home.example").children.count() == 2
    again = csv_import.read_csv("parents", text)
    assert again.counts() == {"new": 0, "update": 0, "same": 3}
    bad = csv_import.read_csv(
        "parents",
        text + f"Pat,Smith,pat@home.example,{first}\nPatricia,Jones,sam@home.example,{second}\n",
    )
    errors = {r.line: r.errors for r in bad.bad_rows}
    assert "also on line 2" in errors[5][0] and "'Sam Smith' on line 3" in errors[6][0]
    with pytest.raises(csv_import.ImportError_):
        csv_import.apply(bad)  # all or nothing
