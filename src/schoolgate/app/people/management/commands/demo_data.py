"""Create a small demo school: staff with known passwords and TOTP secrets, pupils, cases.

For demonstrations only; every password printed here is public.
"""

from __future__ import annotations

import pyotp
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand

from schoolgate.app.cases import workflow
from schoolgate.app.cases.models import Case, Source
from schoolgate.app.people.models import User
from schoolgate.app.roles import ADMIN_ROLES

DEMO_PASSWORD = "schoolgate-demo-2025"
DEMO_TOTP_SECRET = "SCHOOLGATEDEMOTOTPSECRET234567AB"
STAFF = [
    ("dsl", "Dana", "Lead", "dsl", "Designated Safeguarding Lead"),
    ("deputy", "Dev", "Deputy", "deputy-dsl", "Deputy DSL"),
    ("osc", "Olu", "Coordinator", "online-safety-coordinator", "Online Safety Coordinator"),
    ("netman", "Nia", "Network", "network-manager", "ICT Manager"),
    ("teacher", "Tom", "Teacher", "teacher", "Teacher of Computing"),
    ("teacher2", "Tess", "Tutor", "teacher", "Form tutor 8B"),
    ("governor", "Gail", "Governor", "governor", "Online Safety Governor"),
]
PUPILS = [
    ("A100000000001", "Amy", "Ash", "8", "8B", "F"),
    ("A100000000002", "Ben", "Birch", "8", "8B", "M"),
    ("A100000000003", "Cal", "Cedar", "10", "10C", "M"),
]


class Command(BaseCommand):
    help = "Create demo staff, pupils, a parent and a few cases (known demo passwords)."

    def handle(self, *args: object, **options: object) -> None:
        password = make_password(DEMO_PASSWORD)
        for username, first, last, role, title in STAFF:
            User.objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "role": role,
                    "job_title": title,
                    "password": password,
                    "totp_secret": DEMO_TOTP_SECRET if role in ADMIN_ROLES else "",
                    "totp_confirmed": role in ADMIN_ROLES,
                },
            )
        pupils = []
        for upn, first, last, year, reg, sex in PUPILS:
            pupil, _ = User.objects.update_or_create(
                upn=upn,
                defaults={
                    "username": upn.lower(),
                    "first_name": first,
                    "last_name": last,
                    "role": "pupil",
                    "year": year,
                    "registration_group": reg,
                    "sex": sex,
                    "password": password,
                },
            )
            pupils.append(pupil)
        parent, _ = User.objects.update_or_create(
            username="parent",
            defaults={
                "first_name": "Pat",
                "last_name": "Ash",
                "role": "parent",
                "password": password,
            },
        )
        parent.children.add(pupils[0])
        if not Case.objects.exists():
            self._cases(pupils)
        self.stdout.write(
            f"Demo users (password {DEMO_PASSWORD!r}): "
            + ", ".join(s[0] for s in STAFF)
            + ", a100000000001 (pupil), parent"
        )
        self.stdout.write(
            f"TOTP secret for dsl, deputy, osc, netman: {DEMO_TOTP_SECRET} "
            f"(current code {pyotp.TOTP(DEMO_TOTP_SECRET).now()})"
        )

    def _cases(self, pupils: list[User]) -> None:
        teacher = User.objects.get(username="teacher")
        workflow.open_case(
            teacher,
            Source.STAFF,
            {
                "summary": "Pupil using a VPN app to reach games",
                "room": "IT2",
                "device": "PC-14",
                "url": "https://vpn.example",
                "details": "Seen during period 3; screen closed.",
            },
            [pupils[1]],
        )
        workflow.open_case(
            pupils[0],
            Source.PUPIL,
            {"summary": "Mean messages in a game chat", "details": "Mean messages in a game chat"},
            [pupils[0]],
        )
