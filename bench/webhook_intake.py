"""Webhook intake: signed TikTok webhooks acknowledged per second, and their latency, on a fresh SQLite database.

Each run starts the web app under uvicorn in a child process (its own GIL, as `returnbridge serve --no-worker`)
on a new SQLite file, then fires signed type-12 webhooks, every one with a new ``tts_notification_id``, over
keep-alive HTTP/1.1 connections from this process. The client is a few lines of asyncio on raw sockets, so the
load generator costs far less CPU than the server it measures (the machine has two cores).

Two loads per run:
- saturation: ``--connections`` clients each send the next webhook as soon as the previous one is answered; gives
  the most webhooks/s the server acknowledges, and the latency at that load;
- fixed rate: webhooks are sent on a schedule of ``--rate`` per second (open loop); latency is measured from the
  scheduled send time, so a stalled server is charged for the webhooks that queue behind it.

After each run the inbox is counted: every acknowledged webhook must be stored exactly once. ``--enqueue huey``
(the default) wakes the job queue for every new webhook as `serve` does (SqliteHuey under the run's var dir, no
consumer running); ``--enqueue none`` measures the intake alone. Prints JSON with every run and the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

APP_KEY = "bench_app_key"
APP_SECRET = "bench_app_secret"
SHOP_IDS = ("7495540735365777507", "7495540735365777508", "7495540735365777509")
PATH = "/webhooks/tiktok"


# --- server (child process) -------------------------------------------------------------------------------------


def serve(port: int, database_url: str, var_dir: str, enqueue: str) -> None:
    import uvicorn

    from returnbridge.config import Settings
    from returnbridge.sync.runtime import Runtime
    from returnbridge.web.app import create_app

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=database_url, var_dir=Path(var_dir), secret_key="bench-secret-key",
        tiktok_app_key=APP_KEY, tiktok_app_secret=APP_SECRET, tiktok_service_id="bench-service",
    )
    runtime = Runtime.from_settings(settings)
    if enqueue == "huey":
        from returnbridge.sync.jobs import Jobs

        jobs = Jobs(runtime)
        app = create_app(runtime, on_webhook=lambda inbox_id: jobs.process_webhook(inbox_id))
    else:
        app = create_app(runtime, on_webhook=lambda _inbox_id: None)
    # The same uvicorn settings as `returnbridge serve` (uvloop and httptools are picked when installed).
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# --- load (this process) ----------------------------------------------------------------------------------------

_ids = itertools.count(7_300_000_000_000_000_000)


def signed_request(now: int) -> bytes:
    notification_id = next(_ids)
    body = orjson.dumps({
        "type": 12,
        "tts_notification_id": str(notification_id),
        "shop_id": SHOP_IDS[notification_id % len(SHOP_IDS)],
        "timestamp": now,
        "data": {
            "order_id": str(576_000_000_000_000_000 + notification_id % 1_000_000),
            "return_role": "BUYER",
            "return_type": "RETURN_AND_REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_PENDING",
            "return_id": str(4_035_000_000_000_000_000 + notification_id % 1_000_000),
            "create_time": now - 60,
            "update_time": now,
        },
    })
    signature = hmac.new(APP_SECRET.encode(), APP_KEY.encode() + body, hashlib.sha256).hexdigest()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a request and reads the whole answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    def add(self, status: int, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 200:
            self.latencies.append(seconds)

    def figures(self, elapsed: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2) if ordered else 0.0

        return {
            "acknowledged_per_s": round(len(ordered) / elapsed, 1),
            "acknowledged": len(ordered),
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


async def saturate(port: int, connections: int, seconds: float, warmup: float) -> dict[str, Any]:
    pool = [await Connection.open(port) for _ in range(connections)]
    tally = Tally()
    measuring = False

    async def client(connection: Connection, stop_at: float) -> None:
        while time.perf_counter() < stop_at:
            request = signed_request(int(time.time()))
            started = time.perf_counter()
            status = await connection.send(request)
            if measuring:
                tally.add(status, time.perf_counter() - started)

    await asyncio.gather(*(client(c, time.perf_counter() + warmup) for c in pool))
    measuring = True
    started = time.perf_counter()
    await asyncio.gather(*(client(c, started + seconds) for c in pool))
    elapsed = time.perf_counter() - started
    for connection in pool:
        connection.close()
    return tally.figures(elapsed)


async def fixed_rate(port: int, rate: float, connections: int, seconds: float) -> dict[str, Any]:
    pool = [await Connection.open(port) for _ in range(connections)]
    queue: asyncio.Queue[float | None] = asyncio.Queue()
    tally = Tally()

    async def client(connection: Connection) -> None:
        while (due := await queue.get()) is not None:
            status = await connection.send(signed_request(int(time.time())))
            tally.add(status, time.perf_counter() - due)  # from the scheduled time: queueing counts

    workers = [asyncio.create_task(client(c)) for c in pool]
    started = time.perf_counter()
    total = int(rate * seconds)
    for index in range(total):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(due)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - started
    for connection in pool:
        connection.close()
    figures = tally.figures(elapsed)
    figures["offered_per_s"] = rate
    return figures


# --- one run ---------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_run(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    from returnbridge.db.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="rb-webhook-bench-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'returnbridge.sqlite3'}"
        upgrade(database_url)
        port = free_port()
        command = [sys.executable, __file__, "--serve", str(port), "--database-url", database_url,
                   "--var-dir", str(Path(tmp) / "var"), "--enqueue", args.enqueue]
        server = subprocess.Popen(command, stderr=subprocess.PIPE)
        try:
            _wait_healthy(server, port)
            result: dict[str, Any] = {"saturation": asyncio.run(
                saturate(port, args.connections, args.seconds, args.warmup))}
            if args.rate > 0:
                result["fixed_rate"] = asyncio.run(fixed_rate(port, args.rate, args.rate_connections, args.seconds))
        finally:
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(10)
            if server.poll() is None:
                server.kill()
        engine = create_engine(database_url)
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM webhook_inbox")).scalar_one()
        engine.dispose()
        queue_file = Path(tmp) / "var" / "queue.sqlite3"
        if args.enqueue == "huey" and queue_file.exists():
            # Wake-ups run beside the acknowledgements; those still queued at shutdown are left to the sweep.
            queue_engine = create_engine(f"sqlite:///{queue_file}")
            with queue_engine.connect() as connection:
                result["jobs_enqueued"] = connection.execute(text("SELECT count(*) FROM task")).scalar_one()
            queue_engine.dispose()
    loads = [result[part] for part in ("saturation", "fixed_rate") if part in result]
    acknowledged = sum(load["statuses"].get("200", 0) for load in loads)
    # Warm-up requests are stored but not measured, so stored may exceed the measured acknowledgements, never trail.
    if stored < acknowledged:
        raise SystemExit(f"lost webhooks: {acknowledged} acknowledged, {stored} stored")
    result["stored"] = stored
    return result


def _wait_healthy(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {server.stderr.read().decode() if server.stderr else ''}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise SystemExit("the server did not start")


def _median(runs: list[dict[str, Any]], part: str) -> dict[str, float]:
    keys = ("acknowledged_per_s", "p50_ms", "p95_ms", "p99_ms")
    return {key: round(statistics.median(run[part][key] for run in runs), 2) for key in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0, help="Measured seconds per load.")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=16, help="Concurrent clients at saturation.")
    parser.add_argument("--rate", type=float, default=1000.0, help="Webhooks/s of the fixed-rate load; 0 skips it.")
    parser.add_argument("--rate-connections", type=int, default=64)
    parser.add_argument("--enqueue", choices=("huey", "none"), default="huey")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.database_url, args.var_dir, args.enqueue)
        return
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - plain asyncio works, only slower
        pass
    runs = [one_run(args) for _ in range(args.runs)]
    report: dict[str, Any] = {
        "saturation_median": _median(runs, "saturation"),
        "database": "sqlite",
        "enqueue": args.enqueue,
        "connections": args.connections,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
    }
    if args.rate > 0:
        report["fixed_rate_median"] = _median(runs, "fixed_rate")
        report["fixed_rate_per_s"] = args.rate
    report["runs"] = runs
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
