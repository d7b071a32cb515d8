"""Signed links for parents and carers: open one child's agreement and consents without a
password, for a limited time. The link names the parent and the child and is signed with the
application's secret key; the page still checks that the two are linked in the directory."""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from schoolgate.app.people.models import User

_SALT = "schoolgate.agreements.parent-link"
LINK_DAYS = 21


def parent_token(parent: User, child: User) -> str:
    return signing.dumps({"parent": parent.pk, "child": child.pk}, salt=_SALT, compress=True)


def parent_link(base_url: str, parent: User, child: User) -> str:
    path = reverse("parent-link", args=[parent_token(parent, child)])
    return base_url.rstrip("/") + path


def read_token(token: str) -> tuple[int, int] | None:
    """(parent id, child id) from a token that is genuine and under LINK_DAYS old, else None."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=LINK_DAYS * 86400)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    parent, child = data.get("parent"), data.get("child")
    return (parent, child) if isinstance(parent, int) and isinstance(child, int) else None
