from __future__ import annotations

import os

# Tests build their settings explicitly; a developer's .env must not leak in.
os.environ["GW_ENV_FILE"] = os.devnull
