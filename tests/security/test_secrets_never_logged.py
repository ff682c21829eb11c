"""Tokens, store credentials, the app secret and passwords are never written to a log: a full run (sign-in, OAuth
connect, sync, webhook, token refresh, store added and mirrored, a decision) with every logger at DEBUG, and the
captured output (log records with their tracebacks, and whatever reached stdout/stderr) searched for each secret."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from returnbridge.emulators.shopify.server import EmulatorServer as ShopifyEmulator
from returnbridge.emulators.tiktok.server import EmulatorServer as TikTokEmulator
from returnbridge.sync.runtime import Runtime

from .full_run import full_run, settings


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def every_logger_at_debug() -> Iterator[Everything]:
    """Root and every logger that exists now at DEBUG (restored after), one handler seeing them all, including
    loggers that do not propagate."""
    handler = Everything()
    loggers = [logging.getLogger()] + [logger for logger in logging.root.manager.loggerDict.values()
                                       if isinstance(logger, logging.Logger)]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if not logger.propagate:
            logger.addHandler(handler)
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled
            logger.removeHandler(handler)


def test_no_secret_appears_in_any_log_line_or_output_of_a_full_run(
    db_url: str, tmp_path: Path, servers: tuple[TikTokEmulator, ShopifyEmulator], capfd: pytest.CaptureFixture[str],
) -> None:
    tiktok, shopify = servers
    runtime = Runtime.from_settings(settings(db_url, tiktok, tmp_path / "var"))
    try:
        with every_logger_at_debug() as captured:
            run = full_run(runtime, tiktok, shopify)
    finally:
        runtime.close()
    output = capfd.readouterr()
    text = "\n".join([*captured.lines, output.out, output.err])
    assert len(captured.lines) > 50, "too little was logged to prove anything"
    assert any(line.startswith("httpx ") for line in captured.lines), "the HTTP client's log was not captured"
    leaked = {name: [line for line in text.splitlines() if value in line][:3]
              for name, value in run.secrets.items() if value in text}
    assert leaked == {}


def test_the_http_clients_request_line_keeps_the_url_but_hides_secret_query_values() -> None:
    with every_logger_at_debug() as captured:
        url = httpx.URL("https://auth.example/api/v2/token/refresh",
                        params={"app_key": "k1", "app_secret": "s3cr3t", "refresh_token": "TTP_r", "grant_type": "x"})
        logging.getLogger("httpx").info('HTTP Request: %s %s "%s %d %s"', "GET", url, "HTTP/1.1", 200, "OK")
    [line] = [line for line in captured.lines if line.startswith("httpx ")]
    assert "s3cr3t" not in line and "TTP_r" not in line
    assert "/api/v2/token/refresh?app_key=k1&app_secret=[redacted]&refresh_token=[redacted]&grant_type=x" in line
