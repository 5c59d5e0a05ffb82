"""Run localstripe (a stateful fake of Stripe's API) on a loopback port, in memory.

``localstripe``'s own command listens on every interface and saves its store to
a fixed file under the system's temp folder after each write, which parallel
test runs would share. This starts the same app on 127.0.0.1 only, with the
store kept in memory: ``python -m tests.e2e.localstripe_server PORT``.
"""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe import resources
from localstripe.server import app


def main() -> None:
    resources.Store.dump_to_disk = lambda self: None
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
