"""The requester sees the staff's answer: the gateway's /my-requests page reads the answers the
staff app's console writes beside the request file (issue 13, SH-026)."""

from __future__ import annotations

import json

from schoolgate.engine.decide import Decider
from schoolgate.gateway.proxy.records import ANSWERS_FILE, line_key
from tests.gateway.proxy_support import running_origin, running_proxy, test_snapshot


def test_my_requests_shows_my_requests_and_the_staff_answers(tmp_path):
    decider = Decider(test_snapshot())
    with (
        running_origin() as origin,
        running_proxy(
            tmp_path, lambda: decider, hosts={"*.test": f"127.0.0.1:{origin.port}"}
        ) as proxy,
    ):
        log = proxy.pages.requests
        mine = {
            "type": "unblock-request",
            "at": "2026-12-01T10:00:00+00:00",
            "url": "http://blocked.test/<b>maths</b>",
            "subject": "address:127.0.0.1",
        }
        theirs = mine | {"url": "http://secret.test/", "subject": "address:10.9.9.9"}
        second = mine | {"url": "http://blocked.test/history", "at": "2026-12-01T11:00:00+00:00"}
        for record in (mine, theirs, second):
            log.add(record)
        lines = log.path.read_bytes().splitlines()
        (log.path.parent / ANSWERS_FILE).write_text(
            json.dumps({line_key(lines[0]): {"status": "declined", "message": "Use <i>BBC</i>"}})
        )
        status, _, body = proxy.get("http://gate.test/my-requests")
    assert status == 200
    assert "secret.test" not in body  # someone else's request
    assert "&lt;b&gt;maths&lt;/b&gt;" in body and "Use &lt;i&gt;BBC&lt;/i&gt;" in body
    assert "Not unblocked" in body and "Waiting for the staff" in body
    assert body.index("history") < body.index("maths")  # newest first
