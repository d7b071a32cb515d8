"""The school policy schema, version 1.

One YAML file per school. Every rule carries `source` (the policy section and a short quote) so
that a decision can cite the text it enforces. See docs/policy-schema.md for the prose version.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime, time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schoolgate.engine.targets import TargetError, parse_target
from schoolgate.engine.taxonomy import CATEGORIES, ILLEGAL_CATEGORIES, TEXT_MODEL_THEMES

SCHEMA_VERSION = 1

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
ALL_GROUPS = "all"


class Action(StrEnum):
    ALLOW = "allow"
    WARN = "warn"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _ACTION_ORDER[self]


_ACTION_ORDER = {Action.ALLOW: 0, Action.WARN: 1, Action.BLOCK: 2}


class AlertLevel(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _ALERT_ORDER[self]

    @classmethod
    def highest(cls, *levels: AlertLevel) -> AlertLevel:
        return max(levels, key=lambda level: level.rank, default=cls.NONE)


_ALERT_ORDER = {level: i for i, level in enumerate(AlertLevel)}


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


WEEKDAYS = list(Weekday)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    """Where in the school's written policy a rule comes from."""

    section: str = Field(min_length=1)
    quote: str = Field(min_length=1, max_length=400)
    requirements: list[str] = Field(default_factory=list)

    @field_validator("requirements")
    @classmethod
    def _requirement_ids(cls, ids: list[str]) -> list[str]:
        for rid in ids:
            if not re.fullmatch(r"(TM|STM|SH|CAV|HG)-\d{3}", rid):
                raise ValueError(f"{rid!r} is not a requirement id like STM-164")
        return ids


class School(Strict):
    id: Slug
    name: str
    timezone: str = "Europe/London"
    policy_title: str
    approved: str | None = None
    next_review: str | None = None
    source_document: str | None = None
    school_year_starts: str = Field(
        default="09-01", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
    )
    """MM-DD: when a `renew: school-year` agreement must be signed again (1 September)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {zone!r}") from exc
        return zone


class Contact(Strict):
    """A named person or post the policy assigns duties to."""

    role: Slug
    title: str
    name: str | None = None
    email: str | None = None
    duties: list[str] = Field(default_factory=list)
    comment: str | None = None
    """An implementer's note (printed in the appendix, not beside the duties)."""
    source: Source | None = None


GroupKind = Literal["pupil", "staff", "governor", "volunteer", "visitor", "community", "parent"]


class Group(Strict):
    id: Slug
    kind: GroupKind
    title: str
    description: str = ""
    walled_garden: bool = False
    """Only sites on the group's allow-list (and help services) are reachable."""
    safe_search: bool = True
    agreement_required: bool = True
    """A signed acceptable-use agreement is needed before any access."""
    agreement: str | None = None
    """The agreement's id in `agreements`."""
    comment: str | None = None
    """An implementer's note (printed in the appendix, not beside the description)."""
    source: Source | None = None


class Period(Strict):
    """A named span of the school week, in the school's local time. `end` is exclusive."""

    id: Slug
    title: str
    days: list[Weekday]
    start: time
    end: time
    """Exclusive; `"24:00"` means the end of the day."""
    source: Source | None = None

    @field_validator("end", mode="before")
    @classmethod
    def _midnight(cls, value: object) -> object:
        return time.max if value in ("24:00", "24:00:00") else value

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end <= self.start:
            raise ValueError(
                f"period {self.id!r} ends ({self.end}) before it starts ({self.start})"
            )
        return self


class AccessRule(Strict):
    """Group x category -> action. Rules are read top to bottom; the first that applies wins."""

    id: Slug
    groups: list[str]
    categories: list[str]
    action: Action
    periods: list[str] = Field(default_factory=list)
    """Only in these periods; empty means at all times. `outside:<id>` means outside that period."""
    nominated_only: bool = False
    """Only for users the policy names individually for this exception."""
    alert: AlertLevel = AlertLevel.NONE
    reason: str | None = None
    comment: str | None = None
    """Why this reading of the policy was chosen, where the text is ambiguous."""
    source: Source

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, ids: list[str]) -> list[str]:
        unknown = [c for c in ids if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; see `schoolgate categories`")
        return ids


class SiteList(Strict):
    """Named sites allowed or blocked for some groups, whatever the category lists say."""

    id: Slug
    title: str
    groups: list[str]
    action: Action
    sites: list[str] = Field(min_length=1)
    """Host names (covering their subdomains) or URL prefixes."""
    periods: list[str] = Field(default_factory=list)
    alert: AlertLevel = AlertLevel.NONE
    comment: str | None = None
    users: list[str] = Field(default_factory=list)
    """Only these users of the groups (an individual exemption); empty means everyone in them."""
    until: datetime | None = None
    """School local time after which the list no longer applies (a time-limited change)."""
    source: Source

    @field_validator("until")
    @classmethod
    def _local_time(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.tzinfo is not None:
            raise ValueError("give the school's local time without a UTC offset")
        return moment


def _approved_by_another(approver: str, info: ValidationInfo, what: str) -> str:
    """Four eyes: the approver is not the author (names compared without case or spaces)."""
    author = info.data.get("proposed_by", "")
    if approver.strip().casefold() == author.strip().casefold():
        raise ValueError(f"{what} must be approved by someone other than its author")
    return approver


class ApprovedChange(Strict):
    """A change to what is filtered, proposed by one person and approved by another (STM-315),
    kept in `<policy>.changes.yaml` beside the policy file (see engine/policy/changes.py)."""

    id: int = Field(ge=1)
    action: Action
    groups: list[str] = Field(min_length=1)
    sites: list[str] = Field(min_length=1)
    """Host names (covering subdomains) or URL prefixes; `*` means every site (a switch-off)."""
    users: list[str] = Field(default_factory=list)
    until: datetime | None = None
    reason: str = Field(min_length=1, max_length=300)
    proposed_by: str = Field(min_length=1, max_length=100)
    approved_by: str = Field(min_length=1, max_length=100)
    approved_at: datetime

    @field_validator("approved_by")
    @classmethod
    def _four_eyes(cls, approver: str, info: ValidationInfo) -> str:
        return _approved_by_another(approver, info, "a change")

    @field_validator("until", "approved_at")
    @classmethod
    def _local_time(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.tzinfo is not None:
            raise ValueError("give the school's local time without a UTC offset")
        return moment


class AlertExclusion(Strict):
    """A monitoring false positive's fix (issue 13), proposed by one person and approved by
    another, kept with the filter changes in `<policy>.changes.yaml`. `site`: the site's own
    category and list alerts are not raised (what it is blocked or allowed as is unchanged, and
    a search made on it is still scanned); `term`: a search whose only matching keywords are
    excluded terms raises nothing. Never applied to illegal content or circumvention."""

    id: int = Field(ge=1)
    kind: Literal["site", "term"]
    value: str = Field(min_length=1, max_length=300)
    reason: str = Field(min_length=1, max_length=1000)
    proposed_by: str = Field(min_length=1, max_length=100)
    approved_by: str = Field(min_length=1, max_length=100)
    approved_at: datetime

    @field_validator("approved_by")
    @classmethod
    def _four_eyes(cls, approver: str, info: ValidationInfo) -> str:
        return _approved_by_another(approver, info, "an exclusion")

    @model_validator(mode="after")
    def _a_site_is_a_site(self) -> AlertExclusion:
        if self.kind == "site":
            try:
                parse_target(self.value)
            except TargetError as exc:
                raise ValueError(f"{self.value!r} is not a host name or URL: {exc}") from None
        return self

    @field_validator("approved_at")
    @classmethod
    def _local_time(cls, moment: datetime) -> datetime:
        if moment.tzinfo is not None:
            raise ValueError("give the school's local time without a UTC offset")
        return moment


class SupportService(Strict):
    """A help service that is reachable for every group, whatever any list says."""

    name: str
    sites: list[str] = Field(min_length=1)
    source: Source | None = None


class KeywordRule(Strict):
    """What to do when a search term matches one of Schoolgate's keyword libraries."""

    id: Slug
    library: str
    groups: list[str] = Field(default_factory=lambda: [ALL_GROUPS])
    action: Action = Action.ALLOW
    alert: AlertLevel
    extra_terms: list[str] = Field(default_factory=list)
    source: Source


class ThemeThresholds(Strict):
    """From which text-model score (0..1) each alert level is raised for one theme.

    A level left out is never raised by the model on its own (the libraries and the intent
    grammar still raise it). Levels must not decrease: low <= medium <= high.
    """

    low: float | None = Field(default=None, gt=0, le=1)
    medium: float | None = Field(default=None, gt=0, le=1)
    high: float | None = Field(default=None, gt=0, le=1)
    source: Source | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ThemeThresholds:
        given = [
            (name, v)
            for name, v in (("low", self.low), ("medium", self.medium), ("high", self.high))
            if v is not None
        ]
        for (lower, a), (higher, b) in itertools.pairwise(given):
            if a > b:
                raise ValueError(f"{lower} ({a}) must not be above {higher} ({b})")
        return self

    def levels(self) -> dict[AlertLevel, float | None]:
        return {
            AlertLevel.LOW: self.low,
            AlertLevel.MEDIUM: self.medium,
            AlertLevel.HIGH: self.high,
        }


class AlertRoute(Strict):
    level: AlertLevel
    notify: list[Slug]
    """Contact roles told of an alert at this level (and above, unless a higher level says so)."""
    within: str | None = None
    source: Source | None = None


class Monitoring(Strict):
    """How long event logs are kept, when the school is staffed, and who is called out of hours.

    - `retention_days`: events older than this are purged automatically (data minimisation:
      STM-099 "kept no longer than is necessary", STM-100, STM-106).
    - `staffed_days` / `staffed_from` / `staffed_until`: when the route contacts are at work.
    - `out_of_hours`: contact roles in call order, told *instead of* the route's contacts when
      an alert at `out_of_hours_level` or above happens outside staffed hours; the first in the
      list is told at once, the next when a delivery fails or misses its `within` deadline.
    - `dedupe_minutes`: one alert per user per theme per window; repeats raise its count.
    - `repeated_blocks` / `repeated_blocks_minutes`: that many blocked attempts by one user in
      that many minutes raise a `repeated-blocks` alert at `repeated_blocks_level`.
    """

    retention_days: int = Field(default=365, ge=1, le=3650)
    staffed_days: list[Weekday] = Field(
        default_factory=lambda: [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI]
    )
    staffed_from: time = time(8, 0)
    staffed_until: time = time(18, 0)
    out_of_hours: list[Slug] = Field(default_factory=list)
    out_of_hours_level: AlertLevel = AlertLevel.HIGH
    dedupe_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    repeated_blocks: int = Field(default=10, ge=2)
    repeated_blocks_minutes: int = Field(default=10, ge=1)
    repeated_blocks_level: AlertLevel = AlertLevel.LOW
    comment: str | None = None
    source: Source | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Monitoring:
        if self.staffed_until <= self.staffed_from:
            raise ValueError("staffed_until must be after staffed_from")
        return self


class CategoryAlert(Strict):
    """Alert raised whenever someone reaches for a category, whatever the action."""

    categories: list[str]
    alert: AlertLevel
    source: Source | None = None


class SafeSearch(Strict):
    groups: list[str] = Field(default_factory=lambda: [ALL_GROUPS])
    youtube: Literal["strict", "moderate", "off"] = "strict"
    source: Source | None = None


class Agreement(Strict):
    """An acceptable-use agreement a group signs; the text lives in the seed and the app."""

    id: Slug
    title: str
    groups: list[str]
    signatories: list[Literal["user", "parent", "staff-witness"]] = Field(
        default_factory=lambda: ["user"]
    )
    required_signatories: list[Literal["user", "parent", "staff-witness"]] = Field(
        default_factory=lambda: ["user"]
    )
    renew: Literal["never", "each-logon", "daily", "yearly", "school-year", "on-change"] = "yearly"
    """`yearly`: a year after signing; `school-year`: again from the start of each school year
    (`school.school_year_starts`); `each-logon`: at every logon. Any change to the title or the
    statements asks for a new signature whatever the rule (see `engine/agreements.py`)."""
    statements: list[str] = Field(default_factory=list)
    comment: str | None = None
    source: Source


ConsentKind = Literal["photo", "cloud", "biometric", "work", "other"]


class ConsentType(Strict):
    """A consent a parent or carer (and for some, the pupil too) gives or refuses for a child."""

    id: Slug
    title: str
    kind: ConsentKind
    given_by: list[Literal["parent", "pupil"]] = Field(default_factory=lambda: ["parent"])
    """Everyone who must say yes; a consent is given when all of them have."""
    statement: str | None = None
    """The wording on the form, as printed."""
    comment: str | None = None
    source: Source


NamingRule = Literal["no-names", "first-name", "first-name-initial", "full-name"]


class PublishingChannel(Strict):
    """Somewhere the school publishes pupils' images or work: which consents each pictured child
    needs, and how a caption may name them."""

    id: Slug
    title: str
    consents: list[Slug] = Field(min_length=1)
    """Every one of these consents must be given for a child to appear."""
    naming: NamingRule
    decision_required: bool = False
    """A recorded decision by a named member of staff is needed before anything goes out."""
    comment: str | None = None
    source: Source


class TrainingCourse(Strict):
    """Training the policy requires of a group: at induction, then renewed."""

    id: Slug
    title: str
    groups: list[str]
    induction_days: int | None = Field(default=None, ge=1, le=366)
    """New members of the group must complete it within this many days of starting."""
    renew_months: int | None = Field(default=None, ge=1, le=60)
    """Due again this many months after it was last completed; None: once is enough."""
    comment: str | None = None
    source: Source


class SanctionAction(Strict):
    id: Slug
    title: str
    referral: bool = False
    """A referral to someone (police, HR, parents…) rather than an action taken in school."""


class IncidentType(Strict):
    id: Slug
    title: str
    actions: list[Slug]
    """Suggested actions and referrals, by `SanctionAction.id`."""
    illegal: bool = False
    categories: list[str] = Field(default_factory=list)
    """Categories whose blocked attempts are evidence of this incident type."""
    source: Source | None = None


class SanctionMatrix(Strict):
    """A table of incident types against actions, for pupils or for staff."""

    applies_to: Literal["pupil", "staff"]
    title: str
    actions: list[SanctionAction]
    incidents: list[IncidentType]
    source: Source | None = None

    @model_validator(mode="after")
    def _actions_exist(self) -> SanctionMatrix:
        known = {a.id for a in self.actions}
        for incident in self.incidents:
            missing = [a for a in incident.actions if a not in known]
            if missing:
                raise ValueError(f"incident {incident.id!r} names unknown actions {missing}")
        return self


class ConcernCategory(Strict):
    """A kind of safeguarding concern (self-harm, grooming…): never a sanction. See
    `engine.policy.concerns` for the defaults and how they are merged."""

    id: Slug
    title: str
    guidance: str = ""
    """What the DSL considers first, in a sentence or two."""
    refer_to: list[str] = Field(default_factory=list)
    """Outside services a DSL may refer to (e.g. CEOP, Prevent, CAMHS). Never a sanction."""
    themes: list[str] = Field(default_factory=list)
    """Alert themes (keyword libraries / categories) for which this category is suggested."""
    do_not_view: bool = False
    """Images may be indecent images of children: record, never view or copy (STM-171)."""
    source: Source | None = None


class Concerns(Strict):
    """The policy's `concerns:` section: the categories of safeguarding concern it uses."""

    categories: list[ConcernCategory] = Field(default_factory=list)
    defaults: bool = True
    """Add Schoolgate's default categories for any the policy does not list (by id)."""
    source: Source | None = None


class Table(Strict):
    """A matrix from the policy kept for rendering (communications, devices, user actions)."""

    id: Slug
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str | None = None
    source: Source | None = None

    @model_validator(mode="after")
    def _row_widths(self) -> Table:
        for i, row in enumerate(self.rows, start=1):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.id!r} row {i} has {len(row)} cells, expected {len(self.columns)}"
                )
        return self


class Filtering(Strict):
    default_action: Action = Action.ALLOW
    """What happens to a site no list and no rule mentions."""
    default_group: str | None = None
    """Group for users the gateway cannot identify; default: the strictest pupil group."""
    block_response: Literal["block-page", "nxdomain"] = "block-page"
    fail_mode: Literal["closed", "open"] = "closed"
    circumvention_alert: AlertLevel = AlertLevel.LOW
    illegal_alert: AlertLevel = AlertLevel.CRITICAL
    category_map: dict[str, str] = Field(default_factory=dict)
    """Overrides of the shipped mapping from list categories (UT1 names) to Schoolgate's."""
    source: Source | None = None


class HttpsInspection(Strict):
    """Selective HTTPS inspection (docs/https-limits.md): off unless `enabled`; which hosts the
    gateway may decrypt, and which it never does. Entries are host names (covering their
    subdomains), `category:<id>` (a taxonomy category) or `@<set>` (a built-in host set in
    `schoolgate.engine.https_sets`). `never_inspect` always wins, and always includes the
    protected sets (banking, health, government, certificate-pinning apps) and the policy's
    support services, whatever is written here."""

    enabled: bool = False
    inspect: list[str] = Field(default_factory=lambda: ["@search-engines", "@youtube"])
    never_inspect: list[str] = Field(default_factory=list)
    notice: str | None = None
    """The words the printed policy shows users about monitoring of inspected sites."""
    source: Source | None = None

    @field_validator("inspect", "never_inspect")
    @classmethod
    def _entries(cls, entries: list[str]) -> list[str]:
        from schoolgate.engine.https_sets import entry_problem

        for i, entry in enumerate(entries):
            problem = entry_problem(entry)
            if problem is not None:
                raise ValueError(f"entry {i + 1} {entry!r}: {problem}")
        return entries


class Policy(Strict):
    schema_version: Literal[1] = 1
    school: School
    contacts: list[Contact] = Field(default_factory=list)
    groups: list[Group] = Field(min_length=1)
    periods: list[Period] = Field(default_factory=list)
    filtering: Filtering = Field(default_factory=Filtering)
    rules: list[AccessRule] = Field(default_factory=list)
    sites: list[SiteList] = Field(default_factory=list)
    approved_changes: list[ApprovedChange] = Field(default_factory=list)
    """Filter changes approved since the policy was adopted, newest first; their site lists are
    already at the head of `sites` (engine/policy/changes.py)."""
    alert_exclusions: list[AlertExclusion] = Field(default_factory=list)
    """Approved monitoring false-positive exclusions, from the same changes file."""
    support_services: list[SupportService] = Field(default_factory=list)
    keyword_rules: list[KeywordRule] = Field(default_factory=list)
    text_thresholds: dict[str, ThemeThresholds] = Field(default_factory=dict)
    """Per theme of the text model, the score for each alert level; a theme left out uses the
    model's defaults (engine/text/model.py)."""
    category_alerts: list[CategoryAlert] = Field(default_factory=list)
    alert_routes: list[AlertRoute] = Field(default_factory=list)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    safe_search: SafeSearch = Field(default_factory=SafeSearch)
    https: HttpsInspection = Field(default_factory=HttpsInspection)
    agreements: list[Agreement] = Field(default_factory=list)
    consents: list[ConsentType] = Field(default_factory=list)
    publishing: list[PublishingChannel] = Field(default_factory=list)
    training: list[TrainingCourse] = Field(default_factory=list)
    sanctions: list[SanctionMatrix] = Field(default_factory=list)
    concerns: Concerns = Field(default_factory=Concerns)
    tables: list[Table] = Field(default_factory=list)
    nominated_users: list[str] = Field(default_factory=list)
    """User names the policy names individually (e.g. an investigator with filtering lifted)."""

    @field_validator("text_thresholds")
    @classmethod
    def _known_themes(cls, value: dict[str, ThemeThresholds]) -> dict[str, ThemeThresholds]:
        unknown = sorted(set(value) - set(TEXT_MODEL_THEMES))
        if unknown:
            raise ValueError(
                f"unknown text-model theme(s) {unknown}; known: {list(TEXT_MODEL_THEMES)}"
            )
        return value

    def group(self, group_id: str) -> Group:
        for group in self.groups:
            if group.id == group_id:
                return group
        raise KeyError(group_id)

    def contact_roles(self) -> set[str]:
        return {c.role for c in self.contacts}


__all__ = [
    "ALL_GROUPS",
    "ILLEGAL_CATEGORIES",
    "SCHEMA_VERSION",
    "AccessRule",
    "Action",
    "AlertLevel",
    "Policy",
]
