"""Alembic environment: run by `gwstack db upgrade` with a connection handed in."""

from services.common.migrate import run_in_alembic_env
from services.planner.models import Base

run_in_alembic_env(Base.metadata)
