"""Fixtures for the whole suite: where the shared data is, and deciders for the seed schools."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs a fixed set of examples so that a red build always reproduces; locally every run
# explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
UT1 = DATA / "ut1"
POLICIES = REPO / "policies"


def pytest_configure(config: pytest.Config) -> None:
    if not DATA.is_dir():
        raise pytest.UsageError(f"the shared data must be checked out beside the repo at {SHARED}")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def ut1_dir() -> Path:
    return UT1


@pytest.fixture(scope="session")
def policy_path() -> Callable[[str], Path]:
    def path(school_id: str) -> Path:
        return POLICIES / f"{school_id}.yaml"

    return path


@pytest.fixture(scope="session")
def decider_for() -> Callable[[str], object]:
    """`decider_for("st-thomas-more")`: a Decider over the seed policy and the real UT1 lists.

    Each school is compiled once per test session.
    """
    from schoolgate.engine.decide import Decider
    from schoolgate.engine.policy.loader import load_policy
    from schoolgate.engine.snapshot import compile_snapshot

    cache: dict[str, Decider] = {}

    def make(school_id: str) -> Decider:
        if school_id not in cache:
            policy = load_policy(POLICIES / f"{school_id}.yaml")
            cache[school_id] = Decider(compile_snapshot(policy, [UT1]))
        return cache[school_id]

    return make
