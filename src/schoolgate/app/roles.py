"""Roles and what each may do. Every view names one capability; this table is the only place
that says which roles hold it."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    DSL = "dsl"
    DEPUTY_DSL = "deputy-dsl"
    COORDINATOR = "online-safety-coordinator"
    NETWORK_MANAGER = "network-manager"
    TEACHER = "teacher"
    PUPIL = "pupil"
    PARENT = "parent"
    GOVERNOR = "governor"
    VOLUNTEER = "volunteer"
    VISITOR = "visitor"
    COMMUNITY = "community"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Role.DSL: "Designated safeguarding lead",
    Role.DEPUTY_DSL: "Deputy safeguarding lead",
    Role.COORDINATOR: "Online safety coordinator",
    Role.NETWORK_MANAGER: "Network manager",
    Role.TEACHER: "Teacher / staff",
    Role.PUPIL: "Pupil",
    Role.PARENT: "Parent / carer",
    Role.GOVERNOR: "Governor",
    Role.VOLUNTEER: "Volunteer",
    Role.VISITOR: "Visitor",
    Role.COMMUNITY: "Community user",
}

ROLE_CHOICES = [(r.value, r.label) for r in Role]

# STM-305: two-factor sign-in for the accounts that administer the system.
ADMIN_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL, Role.COORDINATOR, Role.NETWORK_MANAGER})
SAFEGUARDING_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL, Role.COORDINATOR})
STAFF_ROLES = frozenset({*ADMIN_ROLES, Role.TEACHER})
# Issue 13: safeguarding concerns and monitoring alerts are for the DSL and deputies only.
DSL_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL})
EVERYONE = frozenset(Role)


class Capability(StrEnum):
    REPORT = "case.report"
    VIEW_OWN_REPORTS = "case.view-own"
    VIEW_ALL_CASES = "case.view-all"
    MANAGE_CASES = "case.manage"
    EXPORT_LOGS = "case.export"
    GOVERNOR_REPORT = "report.governor"
    SIGN_GOVERNOR_REPORT = "report.governor-sign-off"
    VIEW_DIRECTORY = "people.view"
    IMPORT_PEOPLE = "people.import"
    VIEW_AUDIT = "audit.view"
    VIEW_ALERTS = "alerts.view"
    SIGNED_IN = "signed-in"
    # The network manager's console (issue 13).
    CONSOLE_DASHBOARD = "console.dashboard"
    QUERY_LOG = "console.query-log"
    TEST_URL = "console.test-url"
    MANAGE_DEVICES = "console.devices"
    HANDLE_REQUESTS = "console.requests"
    REPORT_CONCERN = "concern.report"
    MANAGE_CONCERNS = "concern.manage"
    TRIAGE_ALERTS = "alert.triage"
    CONFIRM_REVIEW = "case.review-confirm"
    FIND_PEOPLE = "people.find"
    # Issue 11: agreements, consents and training.
    SIGN_AGREEMENT = "agreement.sign"
    PARENT_PAGE = "agreement.parent"
    AGREEMENT_REGISTER = "agreement.register"
    REMIND_PARENTS = "agreement.remind"
    RECORD_CONSENTS = "consent.record"
    PUBLISH_CHECK = "consent.publish-check"
    MANAGE_TRAINING = "training.manage"
    # Issue 12: filter changes, four eyes (the decider is object-checked to differ).
    PROPOSE_CHANGE = "filter.propose"
    DECIDE_CHANGE = "filter.decide"
    CHANGE_LOG = "filter.log"
    # Issue 12: DfE standards 1 and 2 — the roles register, the annual review, the evidence pack.
    VIEW_REVIEWS = "review.view"
    SIGN_OFF_REVIEW = "review.sign-off"
    RUN_SELFTEST = "review.selftest"


GRANTS: dict[Capability, frozenset[Role]] = {
    Capability.REPORT: EVERYONE,
    Capability.SIGNED_IN: EVERYONE,
    Capability.VIEW_OWN_REPORTS: STAFF_ROLES,
    Capability.VIEW_ALL_CASES: SAFEGUARDING_ROLES,  # STM-026: the OSC keeps the incident log
    Capability.MANAGE_CASES: SAFEGUARDING_ROLES,
    Capability.EXPORT_LOGS: SAFEGUARDING_ROLES,
    # STM-016, CAV-075: governors monitor the incident log, anonymised.
    Capability.GOVERNOR_REPORT: frozenset({*SAFEGUARDING_ROLES, Role.GOVERNOR}),
    # CAV-075, CAV-S12: the termly report is signed off by a governor in their own session;
    # the leads who write the figures do not sign for the governors (no head/chair role exists:
    # a chair of governors is a governor account with that position on the sign-off).
    Capability.SIGN_GOVERNOR_REPORT: frozenset({Role.GOVERNOR}),
    Capability.VIEW_DIRECTORY: ADMIN_ROLES,
    Capability.IMPORT_PEOPLE: frozenset({Role.DSL, Role.NETWORK_MANAGER, Role.COORDINATOR}),
    Capability.VIEW_AUDIT: frozenset({Role.DSL, Role.DEPUTY_DSL}),
    # Issue 8, STM-267: a pupil's monitoring alerts and browsing history (the context bundle)
    # are safeguarding records; teachers and network managers do not see them.
    Capability.VIEW_ALERTS: SAFEGUARDING_ROLES,
    # STM-081, STM-318: the network manager runs the filter; the DSLs see who looked at what.
    Capability.CONSOLE_DASHBOARD: frozenset({*SAFEGUARDING_ROLES, Role.NETWORK_MANAGER}),
    # Browsing history is personal data (STM-099): named people who need it, never teachers.
    Capability.QUERY_LOG: frozenset({Role.DSL, Role.DEPUTY_DSL, Role.NETWORK_MANAGER}),
    Capability.TEST_URL: ADMIN_ROLES,
    Capability.MANAGE_DEVICES: frozenset({Role.NETWORK_MANAGER}),
    Capability.HANDLE_REQUESTS: frozenset({*SAFEGUARDING_ROLES, Role.NETWORK_MANAGER}),
    # Issue 13: staff raise concerns but never read other people's; DSL and deputies work them,
    # see the alerts and a child's chronology, and approve exclusions proposed by the other.
    Capability.REPORT_CONCERN: STAFF_ROLES,
    Capability.MANAGE_CONCERNS: DSL_ROLES,
    Capability.TRIAGE_ALERTS: DSL_ROLES,
    # The named second reviewer of a case confirms in their own session (object-checked).
    Capability.CONFIRM_REVIEW: STAFF_ROLES,
    # The people picker on report forms: staff look up pupils and staff by name.
    Capability.FIND_PEOPLE: STAFF_ROLES,
    # Issue 11. Everyone signs their own agreement; only parents and carers countersign, and
    # only for their own children (object-checked). Teachers see who in their class has not
    # signed (STM-S01) and check a photo before it goes out (STM-S07, SH-S06); consents and
    # the training log are kept by the safeguarding and network leads (STM-286).
    Capability.SIGN_AGREEMENT: EVERYONE - {Role.PARENT},
    Capability.PARENT_PAGE: frozenset({Role.PARENT}),
    Capability.AGREEMENT_REGISTER: STAFF_ROLES,
    Capability.REMIND_PARENTS: ADMIN_ROLES,
    Capability.RECORD_CONSENTS: ADMIN_ROLES,
    Capability.PUBLISH_CHECK: STAFF_ROLES,
    Capability.MANAGE_TRAINING: ADMIN_ROLES,
    # STM-031: never one person's job; STM-044/STM-325: the OSC, OSG and provider decide;
    # STM-017, STM-327: the governor and the leads read the change-control log.
    Capability.PROPOSE_CHANGE: ADMIN_ROLES,
    Capability.DECIDE_CHANGE: ADMIN_ROLES,
    Capability.CHANGE_LOG: frozenset({*ADMIN_ROLES, Role.GOVERNOR}),
    # DfE standard 2, STM-004/STM-006: the leads and the governor review and sign off together;
    # the technician-only network manager reads but does not sign off.
    Capability.VIEW_REVIEWS: frozenset({*ADMIN_ROLES, Role.GOVERNOR}),
    Capability.SIGN_OFF_REVIEW: frozenset({*SAFEGUARDING_ROLES, Role.GOVERNOR}),
    Capability.RUN_SELFTEST: ADMIN_ROLES,
}


def allows(role: str, capability: Capability) -> bool:
    return role in GRANTS[capability]
