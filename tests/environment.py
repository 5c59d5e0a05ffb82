"""What the suite needs from the machine, and what to do when it is missing."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    """A real part (PostgreSQL, Chromium) is not here: fail under CI=true, which must run
    everything; elsewhere skip, saying why, so a laptop without it still runs the rest."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (required in CI)")
    pytest.skip(reason)
