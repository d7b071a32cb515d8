"""DfE filtering and monitoring standard 1: the roles register.

The standard asks a school to name a senior leader, a governor, the designated safeguarding lead
and the IT service provider responsible for filtering and monitoring. Schoolgate never copies
people into the database for this: the register is read from the policy's `contacts` (the policy
file is the single source of truth), matching each duty to the contact roles the five seeds use
(St Thomas More's principal, online-safety-governor, dsl, network-manager and filtering-provider;
Cavendish's headteacher and chair-of-governors; STM-016, STM-031, STM-044, CAV-075). A duty with
no contact, or only a post without a person's name, is a gap, shown plainly.
"""

from __future__ import annotations

from dataclasses import dataclass

from schoolgate.engine.policy.render import Responsible
from schoolgate.engine.policy.schema import Contact, Policy


@dataclass(frozen=True)
class Duty:
    id: str
    title: str
    roles: tuple[str, ...]
    """Contact roles that can hold the duty, best first."""


DUTIES = (
    Duty(
        "senior-leader",
        "Senior leader",
        (
            "principal",
            "headteacher",
            "executive-principal",
            "head",
            "deputy-headteacher",
            "assistant-principal",
            "senior-leadership-team",
            "senior-management-team",
        ),
    ),
    Duty(
        "governor",
        "Governor",
        (
            "online-safety-governor",
            "safeguarding-governor",
            "governor",
            "chair-of-governors",
            "governors",
        ),
    ),
    Duty("dsl", "Designated safeguarding lead", ("dsl", "designated-safeguarding-lead")),
    Duty(
        "it-provider",
        "IT service provider",
        ("filtering-provider", "it-provider", "network-manager", "it-lead", "ict-manager"),
    ),
)


@dataclass(frozen=True)
class RegisterEntry:
    duty: Duty
    contacts: tuple[Contact, ...]

    @property
    def named(self) -> tuple[Contact, ...]:
        return tuple(c for c in self.contacts if c.name)

    @property
    def gap(self) -> str:
        """Empty when someone is named; else what is missing, in plain words."""
        if not self.contacts:
            return f"No {self.duty.title.lower()} named in the policy"
        if not self.named:
            posts = ", ".join(c.title for c in self.contacts)
            return f"Post only, no person named ({posts})"
        return ""


def roles_register(policy: Policy) -> list[RegisterEntry]:
    """One entry per DfE standard 1 duty, with the policy contacts that hold it."""
    entries = []
    for duty in DUTIES:
        found = [c for role in duty.roles for c in policy.contacts if c.role == role]
        entries.append(RegisterEntry(duty, tuple(found)))
    return entries


def gaps(register: list[RegisterEntry]) -> list[str]:
    return [f"{e.duty.title}: {e.gap}" for e in register if e.gap]


def emails_for(register: list[RegisterEntry]) -> list[str]:
    """The e-mail addresses of everyone on the register, each once, in duty order."""
    seen: list[str] = []
    for entry in register:
        for contact in entry.contacts:
            if contact.email and contact.email not in seen:
                seen.append(contact.email)
    return seen


def printed_register(register: list[RegisterEntry]) -> tuple[Responsible, ...]:
    """The register as the printed policy shows it: the posts, and the people named in them (a
    blank where nobody is). Django-free, so `schoolgate policy render` uses it too."""
    return tuple(
        Responsible(
            e.duty.title,
            ", ".join(c.title for c in e.contacts),
            ", ".join(c.name or "" for c in e.named),
        )
        for e in register
    )
