"""Fuzzing the JSON API from its own OpenAPI document: the harness shared by ``test_api_fuzz.py`` (short, fixed
seed) and ``bench/fuzz_api.py`` (longer, prints the figures).

The world is real: a fresh SQLite database, the TikTok emulator over HTTP with a connected shop and buyer requests
stored as cases (returns of each type, shipped parcels, cancellations), an admin with a personal API token. The app
is called in-process over ASGI. schemathesis generates each operation's requests, both valid ones (positive) and
ones that break the schema (negative); a third pass aims the path's ``case_id`` at the seeded cases, since random
integers mostly find nothing and a 404 tests little.

What counts as a failure: any 5xx, and any 4xx that is not JSON with a non-empty ``detail`` (the message a client
shows). A failure is recorded and the run goes on, so one run lists every distinct defect instead of the first.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, strategies
from schemathesis import GenerationMode
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from returnbridge.db.engine import normalise_url, transaction
from returnbridge.db.migrate import upgrade
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.ingest import refresh_case
from returnbridge.sync.runtime import Runtime
from returnbridge.users.api_tokens import issue_token
from returnbridge.web.app import create_app

from ..contract.conftest import Control
from ..integration.conftest import APP_KEY, APP_SECRET, SERVICE_ID, connect_shop, make_settings
from ..integration.test_decisions import new_case, shipped_case
from ..web.signing_in import add_user

API_PREFIX = "/api/"


@dataclass
class Failure:
    method: str
    path: str
    status: int
    body: str
    request: str

    def key(self) -> tuple[str, str, int, str]:
        return (self.method, self.path, self.status, self.body[:120])


@dataclass
class Figures:
    seed: int
    examples_per_operation: int
    requests_sent: int = 0
    operations: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    def distinct_failures(self) -> list[Failure]:
        seen: dict[tuple[str, str, int, str], Failure] = {}
        for failure in self.failures:
            seen.setdefault(failure.key(), failure)
        return list(seen.values())

    def as_json(self) -> dict[str, Any]:
        distinct = self.distinct_failures()
        return {
            "seed": self.seed, "examples_per_operation_and_mode": self.examples_per_operation,
            "requests_sent": self.requests_sent, "operations_covered": len(self.operations),
            "operations": self.operations, "statuses": dict(sorted(self.statuses.items())),
            "failures": len(self.failures), "distinct_failures": len(distinct),
            "failure_samples": [vars(f) for f in distinct[:20]], "seconds": round(self.seconds, 1),
        }


@dataclass
class FuzzWorld:
    runtime: Runtime
    app: Any
    headers: dict[str, str]
    case_ids: list[int]


@contextmanager
def fuzz_world(postgres_admin_url: str | None = None) -> Iterator[FuzzWorld]:
    """SQLite (or a fresh PostgreSQL database on that server) + emulator + connected shop + seeded cases + an admin
    API token; the app, ready to call."""
    with tempfile.TemporaryDirectory(prefix="rb-fuzz-") as scratch, _database(Path(scratch), postgres_admin_url) as url:
        base = Path(scratch)
        upgrade(url)
        with EmulatorServer(app_key=APP_KEY, app_secret=APP_SECRET, service_id=SERVICE_ID, seed_returns=5, seed=3,
                            rps=0) as emulator:
            control = Control(emulator.base_url)
            runtime = Runtime.from_settings(make_settings(url, emulator, base / "var", secret_key="fuzz-secret"))
            try:
                shop = control.shop("US")
                account_id = connect_shop(runtime, control, shop)
                case_ids = [new_case(runtime, control, account_id, shop["id"], kind)[0]
                            for kind in ("REFUND", "RETURN_AND_REFUND", "REPLACEMENT", "CANCELLATION")]
                case_ids.append(shipped_case(runtime, control, account_id, shop["id"])[0])
                for case_id in case_ids:
                    refresh_case(runtime, case_id)
                admin = add_user(runtime, "fuzz-admin@example.com", "admin")
                with transaction(runtime.sessions) as session:
                    token, _ = issue_token(session, admin.id, "fuzzing")
                app = create_app(runtime, on_webhook=lambda _id: None)
                yield FuzzWorld(runtime, app, {"Authorization": f"Bearer {token}"}, case_ids)
            finally:
                runtime.close()
                control.http.close()


@contextmanager
def _database(scratch: Path, postgres_admin_url: str | None) -> Iterator[str]:
    if postgres_admin_url is None:
        yield f"sqlite:///{scratch / 'fuzz.sqlite3'}"
        return
    # PostgreSQL refuses some input SQLite takes (NUL in text, ids past INTEGER): worth fuzzing on both.
    name = f"rb_fuzz_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(postgres_admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(postgres_admin_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def problem_with(status: int, content_type: str, text: str) -> str | None:
    """Why this answer breaks the API's promise, or None: no 5xx; every 4xx JSON with a message in ``detail``."""
    if status >= 500:
        return f"server error {status}"
    if status < 400:
        return None
    if "json" not in content_type:
        return f"{status} is not JSON ({content_type or 'no content type'})"
    try:
        detail = json.loads(text).get("detail")
    except (ValueError, AttributeError):
        return f"{status} body is not a JSON object"
    if not detail:
        return f"{status} has no detail"
    return None


def run_fuzz(world: FuzzWorld, *, examples: int, seed: int,
             only: Callable[[str], bool] = lambda _path: True) -> Figures:
    """Every /api/ operation of the app's OpenAPI document, ``examples`` requests per operation and mode."""
    figures = Figures(seed=seed, examples_per_operation=examples)
    started = time.monotonic()
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", world.app, headers=world.headers)
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(API_PREFIX) or not only(operation.path):
            continue
        figures.operations.append(f"{operation.method.upper()} {operation.path}")
        passes: list[Any] = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                             operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
        if "{case_id}" in operation.path:
            passes.append(strategies.sampled_from(world.case_ids).flatmap(
                lambda case_id, op=operation: op.as_strategy(path_parameters={"case_id": case_id})))
        for strategy in passes:
            _run_pass(world, strategy, figures, examples=examples, seed=seed)
    figures.seconds = time.monotonic() - started
    return figures


def _run_pass(world: FuzzWorld, strategy: Any, figures: Figures, *, examples: int, seed: int) -> None:
    @hypothesis.settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                         suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
    @hypothesis.seed(seed)
    @hypothesis.given(case=strategy)
    def send(case: schemathesis.Case) -> None:
        figures.requests_sent += 1
        try:
            response = case.call(headers=world.headers)
        except Exception as crash:  # in-process, the app's unhandled exception arrives here: it would be a 500
            _count(figures, 500)
            figures.failures.append(Failure(
                method=case.method.upper(), path=case.operation.path, status=500,
                body=f"unhandled {type(crash).__name__}: {crash}"[:300], request=_described(case),
            ))
            return
        _count(figures, response.status_code)
        problem = problem_with(response.status_code, _content_type(response), response.text)
        if problem:
            figures.failures.append(Failure(
                method=case.method.upper(), path=case.operation.path, status=response.status_code,
                body=f"{problem}: {response.text[:300]}", request=_described(case),
            ))

    # Unsatisfiable: nothing in this operation can be made invalid (GET /api/me takes no input), no negative requests
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        send()


def _count(figures: Figures, status: int) -> None:
    figures.statuses[str(status)] = figures.statuses.get(str(status), 0) + 1


def _described(case: schemathesis.Case) -> str:
    return (f"{case.method.upper()} {case.formatted_path} query={case.query!r} "
            f"body={str(case.body)[:300]!r}")


def _content_type(response: schemathesis.Response) -> str:
    # schemathesis keeps each header as a list of values under its lower-case name
    for name, values in response.headers.items():
        if name.lower() == "content-type":
            return values[0] if isinstance(values, list) and values else str(values)
    return ""
