"""`returnbridge demo` end to end: a child process on a free port with its own var directory, signed into over
HTTP with the credentials it printed; it must hold cases and two shops, take new cases by webhook, mirror cases into
its Shopify store (read back from the Shopify emulator), and stop cleanly on Ctrl+C."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _case_count(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT count(*) FROM cases").fetchone()[0])


def test_demo_runs_the_product_with_live_buyers_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("RETURNBRIDGE_")}
    env["RETURNBRIDGE_VAR_DIR"] = str(tmp_path / "var")
    env["COLUMNS"] = "200"
    command = [sys.executable, "-m", "returnbridge.cli", "demo", "--port", str(port), "--cases", "400",
               "--activity-seconds", "0.5"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    assert process.stdout is not None
    printed: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while not any("Stop with Ctrl+C" in line for line in printed):  # the banner's last line
            assert time.monotonic() < deadline, "the demo did not print its credentials:\n" + "".join(printed)
            line = process.stdout.readline()
            assert line or process.poll() is None, "the demo exited:\n" + "".join(printed)
            printed.append(line)
        text = "".join(printed)
        url = re.search(r"ReturnBridge is running: (http://127\.0\.0\.1:\d+)", text)
        email = re.search(r"Sign in as:\s+(\S+)", text)
        password = re.search(r"Password:\s+(\S+)", text)
        shopify = re.search(r"Shopify emulator:\s+(http://127\.0\.0\.1:\d+)/_emulator/\s+\(store (\S+),", text)
        assert url and email and password and shopify, text
        assert url.group(1) == f"http://127.0.0.1:{port}"

        with httpx.Client(base_url=url.group(1), timeout=10) as browser:
            login = browser.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', login)
            assert token
            signed_in = browser.post("/login", data={"csrf_token": token.group(1), "email": email.group(1),
                                                     "password": password.group(1)})
            assert signed_in.status_code == 303
            connections = browser.get("/connections")
            assert connections.status_code == 200
            assert connections.text.count("data-shop-id=") == 2
            assert "Northwind Goods US" in connections.text and "Northwind Goods UK" in connections.text
            assert connections.text.count("data-store-id=") == 1
            assert "Northwind Goods (Shopify)" in connections.text

        # Mirroring runs live: the mirror job in the demo's consumer records returns and settled refunds in the
        # Shopify store, each carrying our idempotency key.
        store_url = f"{shopify.group(1)}/_emulator/stores/{shopify.group(2)}"
        with httpx.Client(timeout=10) as control:
            deadline = time.monotonic() + 60
            while True:
                returns = control.get(f"{store_url}/returns").json()["returns"]
                refunds = control.get(f"{store_url}/refunds").json()["refunds"]
                if returns and refunds:
                    break
                assert time.monotonic() < deadline, "nothing was mirrored into the Shopify store"
                time.sleep(0.5)
            assert any("rb-" in line["return_reason_note"] for r in returns for line in r["line_items"])
            assert all("rb-" in refund["note"] for refund in refunds)

        database = tmp_path / "var" / "demo" / "returnbridge.sqlite3"
        first = _case_count(database)
        assert first >= 400
        # Emulated buyers open new requests; they arrive by webhook (no poll is due for minutes).
        deadline = time.monotonic() + 30
        while _case_count(database) <= first:
            assert time.monotonic() < deadline, "no new case arrived by webhook"
            time.sleep(0.25)
        with sqlite3.connect(database) as connection:
            assert connection.execute("SELECT count(*) FROM webhook_inbox WHERE state = 'done'").fetchone()[0] > 0
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            rest, _ = process.communicate()
            pytest.fail("the demo did not stop within 30 s of Ctrl+C:\n" + "".join(printed) + rest)
    assert process.returncode == 0, "".join(printed) + rest
    assert "Demo stopped." in rest
    assert "Traceback" not in rest
