"""What bounding request headers costs: ``python -m bench.billing.parser [--quick]``.

Every service runs under uvicorn with httptools behind a protocol that bounds
the request head at 32 KiB (``services/common/server.py``), because uvicorn's
parsers bound nothing on their own terms (httptools) or parse in Python (h11,
which bounds the head itself). This starts billing_api three times on one
seeded database, identical but for the parser: httptools bounded (as ``gwstack
serve`` runs it), h11 bounded (the services' parser before), and uvicorn's
unbounded httptools, and reads a paid account's ``GET /api/billing/subscription``
under the billing bench's load, the three alternating round by round, the order
rotating. Prints the medians (the server's CPU per request first: it moves far
less with the machine's load than throughput does) and the throughput ratios to
unbounded httptools; writes
``bench/results/parser.json``. There is no target: the figure is the price of the bound.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.billing.__main__ import (
    alternate,
    billing_variants,
    per_backend,
    per_backend_options,
    write_results,
)

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "parser.json"
PARSERS = ("httptools-bounded", "h11-bounded", "httptools")


def serve(parser: str, port: int) -> None:
    """billing_api under uvicorn with ``gwstack serve``'s options but for ``parser``."""
    import uvicorn

    from services.common import server as bounded

    options: dict[str, dict[str, Any]] = {
        # as `gwstack serve` runs every service
        "httptools-bounded": {"http": bounded.PROTOCOL},
        # the services' parser before: h11 bounds the head itself, parsing in Python
        "h11-bounded": {
            "http": "services.common.server:BoundedH11Protocol",
            "h11_max_incomplete_event_size": bounded.MAX_HEADER_BYTES,
        },
        # uvicorn's default: no bound at all, the reference for what a bound costs
        "httptools": {"http": "httptools"},
    }
    http = options[parser]
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
    with billing_variants(backend, "bench.billing.parser", PARSERS, logs) as (urls, headers):
        print(f"  {backend}: reads", file=sys.stderr)
        reads = alternate(urls, headers, rounds=rounds, seconds=seconds)
    unbounded = reads["httptools"]["rps"]
    ratios = {name: read["rps"] / unbounded for name, read in reads.items()}
    return {"reads": reads, "overUnboundedHttptools": ratios}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    per_backend_options(parser, rounds=5)
    results = per_backend(parser.parse_args(), "bench-parser-", measure)
    print("| database | parser | server CPU ms/request | req/s | /httptools | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for backend, result in results["backends"].items():
        for name, read in result["reads"].items():
            ratio = result["overUnboundedHttptools"][name]
            print(
                f"| {backend} | {name} | {read['cpuMs']:.2f} | {read['rps']:.0f} | {ratio:.2f}× "
                f"| {read['p50Ms']:.1f} | {read['p99Ms']:.1f} |"
            )
    write_results(RESULTS, results)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())
