"""When filtering fails, the policy's `filtering.fail_mode` decides (issue 8; the policy prints
"If filtering fails it fails closed/open").

Filtering fails when the snapshot cannot be applied to a request: its list index or policy data
raise instead of answering (a damaged or half-written snapshot in memory, a bug). Then:

- `closed` (the default): the request is blocked, as a decision with rule `fail-closed` — the
  block page from the proxy, a block answer from DNS, `ERR` (or the block page redirect) from the
  Squid helper;
- `open`: the request goes through unfiltered, as a decision with rule `fail-open`, and the
  journal says so (`extra.unfiltered` names the error), so the monitor can show exactly what was
  let through unchecked.

An unreachable DNS upstream is not such a case: there is no answer to give either way, so the
client gets SERVFAIL in both modes (and asks again). The last fail mode seen is kept, so a
component whose snapshot cannot even be asked for its policy still fails the school's way.
"""

from __future__ import annotations

from schoolgate.engine.decide import Decision, Subject
from schoolgate.engine.policy.schema import Action, AlertLevel

CLOSED = "closed"
OPEN = "open"


def failure_decision(fail_mode: str, subject: Subject | None, target: str, why: str) -> Decision:
    opened = fail_mode == OPEN
    return Decision(
        action=Action.ALLOW if opened else Action.BLOCK,
        categories=(),
        rule="fail-open" if opened else "fail-closed",
        reason=(
            "Filtering is not working at the moment, so this was not checked."
            if opened
            else "Filtering is not working at the moment, so this is blocked to keep you safe."
        ),
        alert=AlertLevel.NONE,
        notify=(),
        group=(subject.group if subject is not None else None) or "unknown",
        target=target,
    )


def failure_name(exc: BaseException) -> str:
    """What went wrong, for the journal: the error's type, never request content."""
    return type(exc).__name__
