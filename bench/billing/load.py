"""Load generators: ``wrk`` for reads, a bounded asyncio sender for signed webhooks.

``wrk`` (Debian's package) is the yardstick the issue was measured with; when
it is not installed the same closed-loop read load (N connections, keep-alive,
fixed duration) comes from :func:`python_reads`, which measures the same
numbers but costs more client CPU, so its figures are lower on a small machine.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # non-2xx answers plus socket errors: a run with any is not a result
    tool: str
    cpu_ms: float = float("nan")  # the server's CPU per request, when the caller measured it


@dataclass(frozen=True)
class SendResult:
    seconds: float
    statuses: Counter[int]
    duplicates: int  # answers saying "duplicate": true


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def reads(
    url: str,
    headers: dict[str, str],
    *,
    connections: int,
    seconds: float,
    body: bytes | None = None,
) -> ReadResult:
    """Closed-loop load: GET, or POST ``body`` when given."""
    if wrk_available():
        return wrk_reads(url, headers, connections=connections, seconds=seconds, body=body)
    return asyncio.run(
        python_reads(url, headers, connections=connections, seconds=seconds, body=body)
    )


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"wrk latency {text!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def wrk_reads(
    url: str,
    headers: dict[str, str],
    *,
    connections: int,
    seconds: float,
    body: bytes | None = None,
) -> ReadResult:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        if body is not None:
            (Path(folder) / "body").write_bytes(body)
            script = Path(folder) / "post.lua"
            script.write_text(
                f'wrk.method = "POST"\nlocal f = io.open("{folder}/body", "rb")\n'
                'wrk.body = f:read("*a")\nf:close()\n'
            )
            command += ["-s", str(script)]
        out = subprocess.run(
            [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, flags=re.MULTILINE))
    if len(latency) != 2:
        raise RuntimeError(f"wrk said:\n{out}")
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        bad += sum(int(n) for n in errors.groups())
    return ReadResult(rps, _wrk_ms(latency["50"]), _wrk_ms(latency["99"]), requests, bad, "wrk")


def _request_bytes(
    method: str, host: str, path: str, headers: dict[str, str], body: bytes
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if match is None:
        raise RuntimeError("answer without Content-Length")
    return status, await reader.readexactly(int(match.group(1)))


def _split(url: str) -> tuple[str, int, str]:
    match = re.fullmatch(r"http://([^:/]+):(\d+)(/.*)", url)
    if match is None:
        raise ValueError(url)
    return match.group(1), int(match.group(2)), match.group(3)


async def python_reads(
    url: str,
    headers: dict[str, str],
    *,
    connections: int,
    seconds: float,
    body: bytes | None = None,
) -> ReadResult:
    """The fallback: ``connections`` keep-alive clients, each sending the next request when
    the previous answer is read, for ``seconds``."""
    host, port, path = _split(url)
    method = "GET" if body is None else "POST"
    request = _request_bytes(method, f"{host}:{port}", path, headers, body or b"")
    latencies: list[float] = []
    bad = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal bad
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status, _ = await _exchange(reader, writer, request)
                latencies.append(time.perf_counter() - started)
                bad += status // 100 != 2
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return ReadResult(
        len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000, len(latencies), bad, "python"
    )


async def send_all(
    url: str, bodies: Sequence[tuple[bytes, dict[str, str]]], *, concurrency: int, seconds: float
) -> SendResult:
    """POST each (body, headers) in order, at most once, ``concurrency`` senders on keep-alive
    connections, each taking the next body when its previous answer is read; no sender
    starts a request after ``seconds``."""
    host, port, path = _split(url)
    requests = iter([_request_bytes("POST", f"{host}:{port}", path, h, body) for body, h in bodies])
    statuses: Counter[int] = Counter()
    duplicates = 0

    async def sender() -> None:
        nonlocal duplicates
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for request in requests:
                if time.perf_counter() > deadline:
                    break
                status, answer = await _exchange(reader, writer, request)
                statuses[status] += 1
                duplicates += b'"duplicate":true' in answer
        finally:
            writer.close()

    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return SendResult(time.perf_counter() - started, statuses, duplicates)
