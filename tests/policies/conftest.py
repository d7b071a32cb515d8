"""`policy` and `decider` fixtures for the school named by each test module's `SCHOOL`."""

from __future__ import annotations

import pytest

from schoolgate.engine.decide import Decider
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.policy.schema import Policy


@pytest.fixture(scope="module")
def decider(request: pytest.FixtureRequest, decider_for) -> Decider:
    return decider_for(request.module.SCHOOL)


@pytest.fixture(scope="module")
def policy(request: pytest.FixtureRequest, policy_path) -> Policy:
    return load_policy(policy_path(request.module.SCHOOL))
