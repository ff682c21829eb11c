"""The case page, its actions, bulk decisions, the JSON API and API tokens: the real app over HTTP (TestClient),
on SQLite and PostgreSQL, talking to the TikTok emulator over real HTTP. Each test checks TikTok's side through
the emulator's control API, not only what the page says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.ingest import refresh_case
from returnbridge.sync.records import merge_return_records
from returnbridge.sync.runtime import Runtime
from returnbridge.web.app import create_app

from ..contract.conftest import Control
from ..integration.conftest import connect_shop, control, emulator, make_settings  # noqa: F401  (fixtures)
from ..integration.test_decisions import new_case, shipped_case


@pytest.fixture
def runtime(db_url: str, emulator: EmulatorServer, tmp_path: Path) -> Iterator[Runtime]:  # noqa: F811
    rt = Runtime.from_settings(make_settings(db_url, emulator, tmp_path / "var", secret_key="case-page-secret"))
    yield rt
    rt.close()


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime, on_webhook=lambda _id: None)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def shop(control: Control) -> dict[str, Any]:  # noqa: F811
    return control.shop("US")


@pytest.fixture
def account_id(runtime: Runtime, control: Control, shop: dict[str, Any]) -> int:  # noqa: F811
    return connect_shop(runtime, control, shop)


class Cases:
    """Buyer requests made on the emulator and pulled into our database as ingest would."""

    def __init__(self, runtime: Runtime, emulator_control: Control, account_id: int, shop_id: str) -> None:
        self.runtime, self.control, self.account_id, self.shop_id = runtime, emulator_control, account_id, shop_id

    def new(self, kind: str = "REFUND", **options: Any) -> tuple[int, str]:
        case_id, tiktok_id = new_case(self.runtime, self.control, self.account_id, self.shop_id, kind, **options)
        refresh_case(self.runtime, case_id)  # lines, amounts, deadline and the raw payload, as a sync stores them
        if kind != "CANCELLATION":
            merge_return_records(self.runtime, case_id)
        return case_id, tiktok_id

    def shipped(self) -> tuple[int, str]:
        case_id, tiktok_id = shipped_case(self.runtime, self.control, self.account_id, self.shop_id)
        refresh_case(self.runtime, case_id)
        return case_id, tiktok_id

    def status(self, tiktok_id: str) -> str:
        shown = self.control.request(tiktok_id)
        return str(shown.get("return_status") or shown.get("cancel_status"))


@pytest.fixture
def cases(runtime: Runtime, control: Control, account_id: int, shop: dict[str, Any]) -> Cases:  # noqa: F811
    return Cases(runtime, control, account_id, shop["id"])
