"""Agreement, consent and training pages: the user's own agreement, the parent page (signed in or
from a signed link), the register with its CSV, the consent record of a child, the publish check
and the Training Needs Audit Log. Every view of or change to these records is in the audit trail.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from schoolgate.app.access import public, requires
from schoolgate.app.agreements import consents as consent_records
from schoolgate.app.agreements import publishing
from schoolgate.app.agreements.links import read_token
from schoolgate.app.agreements.models import Consent, Signatory, TrainingNeed, TrainingRecord, Via
from schoolgate.app.agreements.reminders import remind_parents
from schoolgate.app.agreements.signing import SigningError, may_countersign, sign
from schoolgate.app.agreements.status import group_of, status_of, statuses
from schoolgate.app.agreements.training import training_gaps
from schoolgate.app.audit.trail import record
from schoolgate.app.people.models import User
from schoolgate.app.policy import current_policy
from schoolgate.app.roles import Capability, Role, allows
from schoolgate.app.spreadsheet import csv_download

# --- The user's own agreement -----------------------------------------------------------------


@requires(Capability.SIGN_AGREEMENT)
@require_http_methods(["GET", "POST"])
def my_agreement(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        try:
            sign(
                user, Signatory.USER, user, version=request.POST.get("version", ""), request=request
            )
            messages.success(request, "Thank you: your signature is recorded.")
            # Their access may now wait for a parent: tell the parents at once (STM-230).
            remind_parents(timezone.now(), request.build_absolute_uri("/"), only=user)
        except SigningError as exc:
            messages.error(request, str(exc).capitalize() + ".")
        return redirect("my-agreement")
    status = status_of(user, current_policy(), timezone.now())
    return render(request, "app/agreements/mine.html", {"status": status})


# --- Parents and carers -----------------------------------------------------------------------


def _titled(answers) -> list[Consent]:
    """Consent answers with the policy's title for each (`answer.title`), not its id."""
    titles = {c.id: c.title for c in current_policy().consents}
    rows = list(answers)
    for row in rows:
        row.title = titles.get(row.consent, row.consent)
    return rows


def _child_context(parent: User, child: User) -> dict[str, object]:
    policy = current_policy()
    return {
        "child": child,
        "status": status_of(child, policy, timezone.now()),
        "consents": consent_records.consent_states(child, policy),
        "parent": parent,
    }


@requires(Capability.PARENT_PAGE)
def parent_home(request: HttpRequest) -> HttpResponse:
    children = list(request.user.children.filter(is_active=True))
    record(request.user, "parent.view", None, {"children": len(children)}, request=request)
    return render(
        request,
        "app/agreements/parent.html",
        {"children": [_child_context(request.user, c) for c in children]},
    )


def _own_child(request: HttpRequest, child_pk: int) -> User:
    child = get_object_or_404(User, pk=child_pk, role=Role.PUPIL)
    if not may_countersign(request.user, child):
        raise Http404("not your child")
    return child


@requires(Capability.PARENT_PAGE)
@require_POST
def parent_sign(request: HttpRequest, child_pk: int) -> HttpResponse:
    child = _own_child(request, child_pk)
    _countersign(request, request.user, child, Via.APP)
    return redirect("parent-home")


@requires(Capability.PARENT_PAGE)
@require_POST
def parent_consents(request: HttpRequest, child_pk: int) -> HttpResponse:
    child = _own_child(request, child_pk)
    _save_consents(request, request.user, child, Via.APP)
    return redirect("parent-home")


@public
@require_http_methods(["GET", "POST"])
def parent_link(request: HttpRequest, token: str) -> HttpResponse:
    """The signed link in a reminder: one child's agreement and consents, no password needed."""
    ids = read_token(token)
    parent = User.objects.filter(pk=ids[0], is_active=True).first() if ids else None
    child = User.objects.filter(pk=ids[1], role=Role.PUPIL).first() if ids else None
    if parent is None or child is None or not may_countersign(parent, child):
        return render(request, "app/agreements/link_expired.html", status=403)
    if request.method == "POST":
        if request.POST.get("form") == "consents":
            _save_consents(request, parent, child, Via.LINK)
        else:
            _countersign(request, parent, child, Via.LINK)
        return redirect("parent-link", token=token)
    record(parent, "parent.link-open", child, {}, request=request)
    context = {"linked": _child_context(parent, child), "token": token, "parent": parent}
    context["child"] = child
    return render(request, "app/agreements/parent_link.html", context)


def _countersign(request: HttpRequest, parent: User, child: User, via: str) -> None:
    if request.POST.get("agree") != "yes":
        messages.error(request, "Tick the box to say you have read the agreement.")
        return
    try:
        version = request.POST.get("version", "")
        sign(child, Signatory.PARENT, parent, version=version, via=via, request=request)
        messages.success(request, f"Thank you: you have signed for {child.first_name}.")
    except SigningError as exc:
        messages.error(request, str(exc).capitalize() + ".")


def _save_consents(request: HttpRequest, giver: User, child: User, via: str) -> None:
    policy = current_policy()
    now = timezone.now()
    changed = 0
    current = {s.consent.id: s for s in consent_records.consent_states(child, policy)}
    for consent in policy.consents:
        value = request.POST.get(f"consent-{consent.id}", "")
        if not value or "parent" not in consent.given_by:
            continue
        latest = current[consent.id].latest.get("parent")
        if latest is not None and latest.answer == value:
            continue
        if value == "withdrawn" and (latest is None or latest.answer != "yes"):
            continue
        consent_records.answer(
            child,
            consent.id,
            value,
            by=giver,
            giver_role="parent",
            policy=policy,
            at=now,
            via=via,
            request=request,
        )
        changed += 1
    messages.success(request, f"Saved: {changed} answer{'s' if changed != 1 else ''} changed.")


# --- The register -----------------------------------------------------------------------------


def _register_rows(request: HttpRequest) -> tuple[list, dict[str, str]]:
    policy = current_policy()
    filters = {
        "agreement": request.GET.get("agreement", ""),
        "state": request.GET.get("state", ""),
        "group": request.GET.get("group", "").strip(),
    }
    users = User.objects.filter(is_active=True).exclude(role=Role.PARENT)
    if filters["group"]:
        users = users.filter(registration_group__iexact=filters["group"])
    rows = statuses(list(users.order_by("last_name", "first_name")), policy, timezone.now())
    if filters["agreement"]:
        rows = [r for r in rows if r.agreement.id == filters["agreement"]]
    if filters["state"] == "complete":
        rows = [r for r in rows if r.complete]
    elif filters["state"] == "outstanding":
        rows = [r for r in rows if not r.complete and not r.each_logon]
    return rows, filters


@requires(Capability.AGREEMENT_REGISTER)
def register(request: HttpRequest) -> HttpResponse:
    rows, filters = _register_rows(request)
    record(request.user, "agreements.register", None, filters, request=request)
    policy = current_policy()
    return render(
        request,
        "app/agreements/register.html",
        {
            "rows": rows,
            "filters": filters,
            "agreements": policy.agreements,
            "outstanding": sum(1 for r in rows if not r.complete and not r.each_logon),
            "waiting_for_parent": sum(1 for r in rows if r.waiting_for_parent),
            "school": policy.school.name,
            "printed": timezone.localtime(),
            "perms_consents": allows(request.user.role, Capability.RECORD_CONSENTS),
        },
    )


@requires(Capability.AGREEMENT_REGISTER)
def register_csv(request: HttpRequest) -> HttpResponse:
    rows, filters = _register_rows(request)
    record(request.user, "agreements.register-csv", None, filters, request=request)
    columns = ["Name", "Username", "Role", "Reg group", "Agreement", "Version", "Complete"]
    columns += ["Pupil / user signed", "Parent / carer signed", "Missing"]
    return csv_download(
        "agreement-register.csv",
        columns,
        (
            [
                r.user.get_full_name(),
                r.user.username,
                r.user.get_role_display(),
                r.user.registration_group,
                r.agreement.title,
                r.version,
                "at each logon" if r.each_logon else ("yes" if r.complete else "no"),
                _when(r.signed.get("user")),
                _when(r.signed.get("parent")),
                ", ".join(r.missing),
            ]
            for r in rows
        ),
    )


def _when(signature) -> str:
    if signature is None:
        return ""
    return timezone.localtime(signature.signed_at).strftime("%Y-%m-%d %H:%M")


@requires(Capability.REMIND_PARENTS)
@require_POST
def remind(request: HttpRequest) -> HttpResponse:
    sent = remind_parents(timezone.now(), request.build_absolute_uri("/"))
    record(request.user, "agreements.remind-parents", None, {"sent": sent}, request=request)
    messages.success(request, f"Reminders sent to {sent} parent{'s' if sent != 1 else ''}.")
    return redirect("agreement-register")


# --- Consents recorded by staff -----------------------------------------------------------------


@requires(Capability.RECORD_CONSENTS)
@require_http_methods(["GET", "POST"])
def child_consents(request: HttpRequest, child_pk: int) -> HttpResponse:
    child = get_object_or_404(User, pk=child_pk, role=Role.PUPIL)
    policy = current_policy()
    if request.method == "POST":
        parent = child.parents.filter(pk=request.POST.get("parent") or 0).first()
        if parent is None:
            messages.error(request, "Choose the parent or carer who signed the paper form.")
        else:
            _save_consents(request, parent, child, Via.PAPER)
        return redirect("child-consents", child_pk=child.pk)
    record(request.user, "consents.view", child, {}, request=request)
    return render(
        request,
        "app/agreements/child_consents.html",
        {
            "child": child,
            "consents": consent_records.consent_states(child, policy),
            "history": _titled(Consent.objects.filter(child=child).select_related("given_by")),
            "parents": child.parents.all(),
            "status": status_of(child, policy, timezone.now()),
            "group": group_of(child, policy),
        },
    )


# --- May I publish this? ------------------------------------------------------------------------


@requires(Capability.PUBLISH_CHECK)
@require_http_methods(["GET", "POST"])
def publish_check(request: HttpRequest) -> HttpResponse:
    policy = current_policy()
    context: dict[str, object] = {"channels": policy.publishing, "form": request.POST}
    if request.method == "POST":
        channel = request.POST.get("channel", "")
        caption = request.POST.get("caption", "")[:2000]
        group = request.POST.get("class_group", "").strip()[:16]
        if not caption.strip() and not group:
            context["error"] = "Give the caption, the class, or both."
        else:
            try:
                result = publishing.check(policy, channel, caption, group)
            except KeyError:
                context["error"] = "Choose where it will be published."
            else:
                context["result"] = result
                record(
                    request.user,
                    "consents.publish-check",
                    None,
                    {
                        "channel": channel,
                        "class": group,
                        "children": len(result.children),
                        "refused": len(result.refused),
                        "caption_problems": len(result.problems),
                    },
                    request=request,
                )
    return render(request, "app/agreements/publish_check.html", context)


# --- Training -----------------------------------------------------------------------------------


@requires(Capability.MANAGE_TRAINING)
@require_http_methods(["GET", "POST"])
def training(request: HttpRequest) -> HttpResponse:
    policy = current_policy()
    if request.method == "POST":
        _save_training(request, policy)
        return redirect("training")
    today = timezone.localdate()
    record(request.user, "training.view", None, {}, request=request)
    staff = User.objects.filter(is_active=True).exclude(role__in=[Role.PUPIL, Role.PARENT])
    return render(
        request,
        "app/agreements/training.html",
        {
            "needs": TrainingNeed.objects.select_related("person"),
            "gaps": training_gaps(policy, today, 30),
            "today": today,
            "courses": policy.training,
            "staff": staff.order_by("last_name", "first_name"),
            "records": TrainingRecord.objects.select_related("person")[:50],
        },
    )


def _save_training(request: HttpRequest, policy) -> None:
    form = request.POST
    person = User.objects.filter(pk=form.get("person") or 0).first()
    if form.get("form") == "record":
        course = next((c for c in policy.training if c.id == form.get("course")), None)
        done = _date(form.get("completed_on", ""))
        if person is None or course is None or done is None or done > timezone.localdate():
            messages.error(
                request, "Choose the person and the course, and a date not in the future."
            )
            return
        row = TrainingRecord.objects.create(
            person=person,
            course=course.id,
            title=course.title,
            completed_on=done,
            provider=form.get("provider", "")[:200],
            recorded_by=request.user,
        )
        record(
            request.user,
            "training.record",
            row,
            {"person": person.username, "course": course.id},
            request=request,
        )
        messages.success(request, f"Recorded: {person.get_full_name()} completed {course.title}.")
        return
    review = _date(form.get("review_date", ""))
    need = form.get("identified_need", "").strip()
    group = form.get("group", "").strip()
    cost = form.get("cost", "").strip().lstrip("£")
    try:
        cost_value = round(float(cost), 2) if cost else None
    except ValueError:
        cost_value = -1
    if not group or not need or review is None or (cost_value is not None and cost_value < 0):
        messages.error(
            request,
            "Give the group, the identified need, a review date and (if any) a cost in pounds.",
        )
        return
    row = TrainingNeed.objects.create(
        group=group[:100],
        person=person,
        relevant_training=form.get("relevant_training", "")[:2000],
        identified_need=need[:2000],
        to_be_met_by=form.get("to_be_met_by", "")[:200],
        cost=cost_value,
        review_date=review,
        recorded_by=request.user,
    )
    record(request.user, "training.need", row, {"group": row.group}, request=request)
    messages.success(request, "Added to the Training Needs Audit Log.")


@requires(Capability.MANAGE_TRAINING)
def training_csv(request: HttpRequest) -> HttpResponse:
    record(request.user, "training.csv", None, {}, request=request)
    columns = [
        "Group",
        "Name",
        "Relevant training the last 12 months",
        "Identified Training Need",
        "To be met by",
        "Cost",
        "Review Date",
    ]
    return csv_download(
        "training-needs-audit-log.csv",
        columns,
        (
            [
                n.group,
                n.person.get_full_name() if n.person else "",
                n.relevant_training,
                n.identified_need,
                n.to_be_met_by,
                f"{n.cost:.2f}" if n.cost is not None else "",
                n.review_date.isoformat(),
            ]
            for n in TrainingNeed.objects.select_related("person")
        ),
    )


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None
