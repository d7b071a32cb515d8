"""Unblock requests and missed-site reports: from the gateway's request file to the console.

The block pages append one JSON object per line to `<gateway state>/requests.jsonl`
(`gateway.proxy.records.RequestLog`). `import_requests` reads that file and creates an
`UnblockRequest` for every line it has not seen: each line is keyed by the SHA-256 of its bytes,
so importing again (every time the queue is opened) adds nothing twice. A line that is not a
valid record is skipped and reported with its line number; nothing already imported is touched.

Answers go back the other way: `publish_answers` writes `<gateway state>/request-answers.json`
(key -> status, reply, time), which the gateway's "my requests" page shows to the requester, so
a pupil sees the reply on the device they asked from without the gateway reading the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from schoolgate.app.console.models import UnblockRequest
from schoolgate.files import write_atomically
from schoolgate.gateway.proxy.records import ANSWERS_FILE, REQUESTS_FILE, line_key


@dataclass
class ImportResult:
    added: int = 0
    problems: list[str] = field(default_factory=list)


def import_requests(state_dir: Path) -> ImportResult:
    path = state_dir / REQUESTS_FILE
    result = ImportResult()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return result
    lines = data[: data.rfind(b"\n") + 1].splitlines()  # a line still being written waits
    keyed = {line_key(line): (number, line) for number, line in enumerate(lines, 1) if line}
    known = set(
        UnblockRequest.objects.filter(source_key__in=list(keyed)).values_list(
            "source_key", flat=True
        )
    )
    new = []
    for key, (number, line) in keyed.items():
        if key in known:
            continue
        try:
            new.append(_request(key, json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            result.problems.append(f"{path}:{number}: not a request record ({exc})")
    UnblockRequest.objects.bulk_create(new, ignore_conflicts=True)
    result.added = len(new)
    return result


def _request(key: str, record: dict) -> UnblockRequest:
    kind = record["type"]
    if kind not in UnblockRequest.Kind.values:
        raise ValueError(f"unknown type {kind!r}")
    at = datetime.fromisoformat(str(record["at"]))
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    subject = str(record.get("subject") or "")
    return UnblockRequest(
        source_key=key,
        kind=kind,
        url=str(record.get("url") or "")[:2000],
        message=str(record.get("message") or "")[:2000],
        requester=str(record.get("user") or "")[:150],
        address=str(record.get("address") or subject.removeprefix("address:"))[:64],
        group=str(record.get("group") or "")[:64],
        requested_at=at,
    )


def publish_answers(state_dir: Path) -> None:
    answered = UnblockRequest.objects.exclude(status=UnblockRequest.Status.NEW).values_list(
        "source_key", "status", "response", "answered_at"
    )
    body = {
        key: {
            "status": status,
            "message": response,
            "at": at.isoformat(timespec="seconds") if at else None,
        }
        for key, status, response, at in answered
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(state_dir / ANSWERS_FILE, json.dumps(body, indent=1).encode("utf-8"))
