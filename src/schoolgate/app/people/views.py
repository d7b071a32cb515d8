"""The directory and the CSV import (preview, then apply all or nothing)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from schoolgate.app.access import requires
from schoolgate.app.audit.trail import record
from schoolgate.app.people import csv_import
from schoolgate.app.people.models import User
from schoolgate.app.roles import ROLE_CHOICES, Capability

_SESSION_KEY = "pending_import"
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@requires(Capability.VIEW_DIRECTORY)
def directory(request: HttpRequest) -> HttpResponse:
    people = User.objects.order_by("last_name", "first_name")
    role = request.GET.get("role", "")
    query = request.GET.get("q", "").strip()
    if role:
        people = people.filter(role=role)
    if query:
        people = people.filter(
            Q(last_name__icontains=query)
            | Q(first_name__icontains=query)
            | Q(username__icontains=query)
            | Q(registration_group__iexact=query)
        )
    page = Paginator(people, 100).get_page(request.GET.get("page"))
    record(request.user, "directory.view", None, {"role": role, "q": query}, request=request)
    return render(
        request,
        "app/directory.html",
        {"page": page, "roles": ROLE_CHOICES, "role": role, "q": query},
    )


@requires(Capability.IMPORT_PEOPLE)
@require_http_methods(["GET", "POST"])
def import_people(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {"kinds": sorted(csv_import.KINDS)}
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        upload = request.FILES.get("file")
        try:
            text = _read_upload(upload)
            preview = csv_import.read_csv(kind, text)
        except csv_import.ImportError_ as exc:
            context["error"] = str(exc)
            return render(request, "app/import.html", context, status=400)
        request.session[_SESSION_KEY] = {"kind": kind, "text": text}
        context |= {"preview": preview, "kind": kind}
    return render(request, "app/import.html", context)


def _read_upload(upload) -> str:
    if upload is None:
        raise csv_import.ImportError_("choose a CSV file to import")
    if upload.size > MAX_IMPORT_BYTES:
        raise csv_import.ImportError_("the file is larger than 5 MB")
    raw = upload.read()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise csv_import.ImportError_("the file is neither UTF-8 nor Windows-1252 text")


@requires(Capability.IMPORT_PEOPLE)
@require_POST
def confirm_import(request: HttpRequest) -> HttpResponse:
    pending = request.session.pop(_SESSION_KEY, None)
    if pending is None:
        messages.error(request, "There is no import waiting; upload the file again.")
        return redirect("import-people")
    try:
        preview = csv_import.read_csv(pending["kind"], pending["text"])
        counts = csv_import.apply(preview)
    except csv_import.ImportError_ as exc:
        messages.error(request, str(exc))
        return redirect("import-people")
    record(request.user, "people.import", None, {"kind": preview.kind, **counts}, request=request)
    messages.success(
        request,
        f"Imported {preview.kind}: {counts['new']} new, {counts['update']} updated, "
        f"{counts['same']} unchanged.",
    )
    return redirect("directory")
