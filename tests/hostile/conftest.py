"""The hostile-input suite: what an attacker without a secret, or an unlucky operator,
can send or do to each service. Every answer must be a documented, coded 4xx.

Each service's database fixtures (both databases) are shared from its own test
package; the ``backend`` they run on comes from the suite's root conftest.
"""

from __future__ import annotations

from tests.billing_api.conftest import (  # noqa: F401 - fixtures, found by name
    app,
    auth,
    billing_db_url,
    client,
    postgres_billing_url,
    provider,
    settings,
)
from tests.planner.conftest import postgres_planner_url  # noqa: F401 - a fixture, found by name
from tests.sandbox_provider.conftest import postgres_url  # noqa: F401 - a fixture, found by name
