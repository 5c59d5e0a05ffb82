"""Each service against its own OpenAPI document, on SQLite and on PostgreSQL: no 5xx,
no undocumented status, headers and bodies as documented, every wrong input refused,
auth enforced, and (stateful) what was created is there until it is deleted.

Every schemathesis check runs; the few left out for one service say why, next to it.
A valid credential is sent, so the fuzzing reaches the logic behind the auth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import Phase, settings

from services.billing_api.app import create_app as billing_app
from services.common.auth import mint_token
from services.planner.app import create_app as planner_app
from services.sandbox_provider.app import create_app as sandbox_app
from tests.billing_api.fakes import FakeProvider
from tests.billing_api.support import make_settings
from tests.hostile.fuzz import (
    FUZZ,
    checks_except,
    fuzz_database,
    run_stateful,
    schema_of,
    serving,
)
from tests.planner.billing_standin import BillingStandIn
from tests.planner.support import planner_settings
from tests.sandbox_provider.support import API_KEY, sandbox_config, sandbox_settings

# The documents do not depend on the database: loaded once, from an app never served.
_UNUSED = "sqlite+aiosqlite:///unused.db"
# Tokens are signed with the tests' settings' secret, the same for every database.
_TOKEN = mint_token("acc_fuzz", make_settings(_UNUSED))
billing = schema_of(billing_app(make_settings(_UNUSED), provider=FakeProvider()), bearer=_TOKEN)
planner = schema_of(planner_app(planner_settings(_UNUSED)), bearer=_TOKEN)
sandbox = schema_of(sandbox_app(sandbox_settings(_UNUSED), config=sandbox_config()), bearer=API_KEY)

BILLING_CHECKS = checks_except(
    {
        # Schema-valid is not always acceptable: a well-formed URL on a foreign origin
        # is refused by the redirect allow-list with a documented 422.
        "positive_data_acceptance": "the redirect allow-list",
    }
)
PLANNER_CHECKS = checks_except(
    {
        # JSON Schema cannot say that a link names a task of the same plan, that a time
        # zone exists or that there is no cycle: a well-shaped plan may get a documented 422.
        "positive_data_acceptance": "plan soundness is beyond JSON Schema",
    }
)
SANDBOX_CHECKS = checks_except(
    {
        # Like a provider, the sandbox refuses text with unprintable characters (PostgreSQL
        # cannot store NUL), URLs that are not absolute http(s), and `1.0` for an integer
        # (JSON Schema calls it one): rules a JSON Schema pattern cannot state exactly,
        # each a documented 422.
        "positive_data_acceptance": "strict provider-style input rules",
    }
)


# -- each app served on the database under test, once per module -------------------------


@pytest.fixture(scope="module")
def billing_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    settings = make_settings(fuzz_database("billing_api", backend, request))
    with serving(billing_app(settings, provider=FakeProvider(), run_worker=False)) as url:
        yield url


@pytest.fixture(scope="module")
def planner_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    # The account is paid, so the fuzzing reaches saving and exporting too.
    standin = BillingStandIn(statuses={"acc_fuzz": "active"})
    settings = planner_settings(fuzz_database("planner", backend, request))
    with serving(planner_app(settings, billing_transport=standin.transport())) as url:
        yield url


@pytest.fixture(scope="module")
def sandbox_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    settings = sandbox_settings(fuzz_database("sandbox_provider", backend, request))
    with serving(sandbox_app(settings, config=sandbox_config())) as url:
        yield url


# -- every operation on its own ----------------------------------------------------------


@billing.parametrize()
@FUZZ
def test_billing_api_honours_its_contract(case: Any, billing_url: str) -> None:
    case.call_and_validate(base_url=billing_url, checks=BILLING_CHECKS)


# The routes that take a plan document share its schema, whose coverage cases (every
# bound and wrong type of every field: ~400) are most of the planner's time. They run
# once, on the compile route, which reads no database; the routes that store a plan
# get generated documents on both databases.
_PLAN_BODIES = r"^/v1/(plan/compile|plan/compile_with_access_preview|plans(/\{planId\})?)$"
_WRITES = ["POST", "PUT"]


@planner.exclude(path_regex=_PLAN_BODIES, method=_WRITES).parametrize()
@FUZZ
def test_planner_honours_its_contract(case: Any, planner_url: str) -> None:
    case.call_and_validate(base_url=planner_url, checks=PLANNER_CHECKS)


@pytest.mark.backend_independent
@planner.include(path_regex="^/v1/plan/compile$").parametrize()
@FUZZ
def test_every_bound_of_a_plan_document_is_honoured(case: Any, planner_url: str) -> None:
    case.call_and_validate(base_url=planner_url, checks=PLANNER_CHECKS)


@(
    planner.include(path_regex=_PLAN_BODIES, method=_WRITES)
    .exclude(path_regex="^/v1/plan/compile$")
    .parametrize()
)
@settings(FUZZ, phases=[Phase.generate])
def test_the_other_plan_routes_honour_their_contract(case: Any, planner_url: str) -> None:
    case.call_and_validate(base_url=planner_url, checks=PLANNER_CHECKS)


@sandbox.parametrize()
@FUZZ
def test_sandbox_honours_its_contract(case: Any, sandbox_url: str) -> None:
    case.call_and_validate(base_url=sandbox_url, checks=SANDBOX_CHECKS)


# -- sequences: create, then read, change or delete it -------------------------------------


def test_planner_sequences_honour_the_contract(planner_url: str) -> None:
    run_stateful(planner, planner_url, PLANNER_CHECKS)


def test_sandbox_sequences_honour_the_contract(sandbox_url: str) -> None:
    run_stateful(sandbox, sandbox_url, SANDBOX_CHECKS)
