"""Public ids: a type prefix and 96 random bits (``pa_…``, ``sub_…``, ``cs_…``)."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"
