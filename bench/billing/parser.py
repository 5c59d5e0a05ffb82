"""What bounding request headers costs: ``python -m bench.billing.parser [--quick]``.

Every service runs under uvicorn with h11 and a 32 KiB bound on the request head
(``services/common/server.py``), because uvicorn's faster default parser,
httptools, bounds nothing. This starts billing_api twice on one seeded database,
identical but for the parser (h11 bounded, as ``gwstack serve`` runs it, and
httptools), and reads a paid account's ``GET /api/billing/subscription`` under
the billing bench's load, the two alternating round by round, the order
rotating. Prints the medians and the ratio; writes ``bench/results/parser.json``.
There is no target: the figure is the price of the bound.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.billing import data
from bench.billing.__main__ import READ_PATH, alternate, free_port, server
from services.common.auth import mint_token
from services.common.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "parser.json"
PARSERS = ("h11-bounded", "httptools")


def serve(parser: str, port: int) -> None:
    """billing_api under uvicorn with ``gwstack serve``'s options but for ``parser``."""
    import uvicorn

    from services.common import server as bounded

    http: dict[str, Any] = {"http": "httptools"}
    if parser == "h11-bounded":
        http = {
            "http": bounded.PROTOCOL,
            "h11_max_incomplete_event_size": bounded.MAX_HEADER_BYTES,
        }
    uvicorn.run(
        "services.billing_api.app:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        **http,
    )


def measure(backend: str, rounds: int, seconds: float, logs: Path) -> dict[str, Any]:
    settings = Settings(_env_file=None)
    headers = {"Authorization": f"Bearer {mint_token(data.ACCOUNT, settings, ttl=86400)}"}
    with data.fresh_database(backend) as url, contextlib.ExitStack() as stack:
        env = dict(
            os.environ,
            GW_ENV_FILE=os.devnull,
            GW_ENV="development",
            BILLING_DATABASE_URL=url,
            AUTH_JWT_SECRET=settings.auth_jwt_secret.get_secret_value(),
            PAYMENT_PROVIDER_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        )
        urls = {}
        for parser in PARSERS:
            port = free_port()
            command = [sys.executable, "-m", "bench.billing.parser", "serve", parser, str(port)]
            urls[parser] = stack.enter_context(
                server(f"billing-{parser}-{backend}", command, env, port, logs)
            )
        answers = {
            httpx.get(u + READ_PATH, headers=headers, timeout=10).text for u in urls.values()
        }
        assert len(answers) == 1, "the two servers answered differently"
        print(f"  {backend}: reads", file=sys.stderr)
        reads = alternate(urls, headers, rounds=rounds, seconds=seconds)
    ratio = reads["h11-bounded"]["rps"] / reads["httptools"]["rps"]
    return {"reads": reads, "h11OverHttptools": ratio}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one 3 s round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")
    args = parser.parse_args()
    rounds, seconds = (1, 3.0) if args.quick else (args.rounds, args.seconds)
    backends = args.backend or ["sqlite", "postgresql"]
    results: dict[str, Any] = {"rounds": rounds, "seconds": seconds, "backends": {}}
    with tempfile.TemporaryDirectory(prefix="bench-parser-") as logs:
        for backend in backends:
            results["backends"][backend] = measure(backend, rounds, seconds, Path(logs))
    print("| database | parser | req/s | p50 ms | p99 ms | rounds req/s |")
    print("|---|---|---|---|---|---|")
    for backend, result in results["backends"].items():
        for name, read in result["reads"].items():
            each = " / ".join(f"{r['rps']:.0f}" for r in read["rounds"])
            print(
                f"| {backend} | {name} | {read['rps']:.0f} | {read['p50Ms']:.1f} "
                f"| {read['p99Ms']:.1f} | {each} |"
            )
        print(f"| {backend} | h11 / httptools | {result['h11OverHttptools']:.2f}× | | | |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())
