"""The JSON API fuzzed from its own OpenAPI document (schemathesis), short and with a fixed seed: every /api/
operation, valid and invalid requests, with an admin's API token against seeded cases on SQLite. ``bench/fuzz_api.py``
runs the same for longer and prints the figures."""

from __future__ import annotations

from .api_fuzz import fuzz_world, problem_with, run_fuzz

EXAMPLES = 12
SEED = 20240801


def test_the_json_api_answers_fuzzed_requests_with_no_5xx_and_json_errors() -> None:
    with fuzz_world() as world:
        figures = run_fuzz(world, examples=EXAMPLES, seed=SEED)
    # Coverage first: a fuzz that reached nothing would pass vacuously.
    assert {"GET /api/v1/cases", "POST /api/v1/cases/{case_id}/decisions", "POST /api/v1/cases/bulk-decisions",
            "POST /api/v1/rules", "GET /api/v1/analytics/{metric}"} <= set(figures.operations)
    assert figures.requests_sent >= 10 * len(figures.operations)
    assert {"200", "404", "422"} <= set(figures.statuses), figures.statuses
    assert figures.failures == [], figures.as_json()["failure_samples"]


def test_the_fuzz_verdict_refuses_a_5xx_and_an_error_without_a_message() -> None:
    # The check the fuzz applies must be able to fail.
    assert problem_with(500, "application/json", '{"detail": "boom"}') == "server error 500"
    assert problem_with(404, "text/plain", "Not Found") is not None
    assert problem_with(422, "application/json", '{"detail": ""}') is not None
    assert problem_with(400, "application/json", "[1, 2]") is not None
    assert problem_with(404, "application/json", '{"detail": "case 7 does not exist"}') is None
    assert problem_with(200, "text/html", "<p>fine</p>") is None
