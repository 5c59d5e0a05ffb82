from __future__ import annotations

from pathlib import Path

from services.common.migrate import upgrade


async def test_upgrade_says_created_then_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"
    first = await upgrade("billing_api", url)
    assert first.before is None
    assert first.describe() == f"billing_api: created (revision {first.after})"
    again = await upgrade("billing_api", url)
    assert again.describe() == f"billing_api: up to date (revision {first.after})"


async def test_upgrade_from_an_older_revision_says_from_and_to(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"
    await upgrade("billing_api", url, revision="0001")
    done = await upgrade("billing_api", url)
    assert done.describe() == f"billing_api: migrated from 0001 to {done.after}"
