"""Alembic environment: run by `gwstack db upgrade` with a connection handed in."""

from services.billing_api.models import Base
from services.common.migrate import run_in_alembic_env

run_in_alembic_env(Base.metadata)
