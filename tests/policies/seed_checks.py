"""Checks shared by the five seed-school policy tests: is the policy file faithful to its seed,
do its rules cite real requirement ids, and what does `schoolgate check --batch` answer.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from schoolgate.engine.policy.schema import AlertLevel, Policy, Source

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
REQUIREMENTS = SHARED / "requirements.md"
BENIGN_QUESTIONS = SHARED / "data" / "queries-nq" / "NQ-open.dev.jsonl"


def google_search(query: str) -> str:
    return f"https://www.google.co.uk/search?q={quote_plus(query)}"


def benign_questions() -> list[str]:
    """Real questions people asked a search engine (Natural Questions, dev split)."""
    lines = BENIGN_QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def plain(text: str) -> str:
    """Seed text and quotes compared without quote-mark style, emphasis, tags or line breaks."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"</?i>", "", text).replace("*", "")
    return " ".join(text.split())


def policy_sources(policy: Policy) -> list[Source]:
    """The `source` of every part of the policy that has one."""
    items = [
        *policy.contacts,
        *policy.groups,
        *policy.periods,
        *policy.rules,
        *policy.sites,
        *policy.support_services,
        *policy.keyword_rules,
        *policy.category_alerts,
        *policy.alert_routes,
        *policy.agreements,
        *policy.consents,
        *policy.publishing,
        *policy.training,
        *policy.tables,
        *policy.sanctions,
        *(incident for matrix in policy.sanctions for incident in matrix.incidents),
        *policy.concerns.categories,
        policy.concerns,
        policy.filtering,
        policy.safe_search,
    ]
    return [item.source for item in items if item.source is not None]


def quotes_missing_from_seed(policy: Policy, seed_file: str) -> list[str]:
    """Source quotes (each piece either side of "…") and agreement statements not in the seed."""
    seed = plain((SEEDS / seed_file).read_text(encoding="utf-8"))
    pieces = [
        piece.strip()
        for source in policy_sources(policy)
        for piece in plain(source.quote).split("…")
        if piece.strip()
    ]
    statements = [plain(text) for agreement in policy.agreements for text in agreement.statements]
    return [text for text in [*pieces, *statements] if text not in seed]


def known_requirements(prefix: str) -> set[str]:
    """The requirement ids with this prefix (e.g. "TM") that requirements.md catalogues."""
    catalogue = REQUIREMENTS.read_text(encoding="utf-8")
    return set(re.findall(rf"\| ({prefix}-\d{{3}}) \|", catalogue))


def assert_rules_cite_known_requirements(policy: Policy, prefix: str) -> None:
    for rule in [*policy.rules, *policy.sites, *policy.keyword_rules]:
        assert rule.source.requirements, f"{rule.id} cites no requirement"
    cited = {rid for source in policy_sources(policy) for rid in source.requirements}
    assert cited, "the policy cites no requirement at all"
    assert cited <= known_requirements(prefix), sorted(cited - known_requirements(prefix))


def assert_dsl_hears_high_and_critical(policy: Policy) -> None:
    routes = {route.level: route.notify for route in policy.alert_routes}
    assert "dsl" in routes[AlertLevel.HIGH]
    assert "dsl" in routes[AlertLevel.CRITICAL]


def run_check_batch(
    policy_file: Path,
    lists_dir: Path,
    requests: list[dict[str, Any]],
    cache_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Feed `requests` to `schoolgate check --batch` as JSON lines; return its answers in order.

    Without `cache_dir` the compiled snapshot is not cached; with it, it is cached there.
    """
    cache = ["--no-cache"] if cache_dir is None else []
    env = {**os.environ, "SCHOOLGATE_CACHE": str(cache_dir)} if cache_dir is not None else None
    result = subprocess.run(
        [
            *(sys.executable, "-m", "schoolgate", "check", "--batch", *cache),
            *("--policy", str(policy_file), "--lists", str(lists_dir)),
        ],
        input="".join(json.dumps(request) + "\n" for request in requests),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]
