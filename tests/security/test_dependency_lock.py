"""Dependencies are pinned in ``requirements.lock``, and ``make demo``, ``make test`` and CI (``.ci/run``) install from
it: the lock pins every package with ``==``, covers every dependency ``pyproject.toml`` declares, the Makefile's
install step syncs exactly the lock (and the project itself without resolving anything), the tool doing it is
pinned too, and the environment running these tests holds exactly the locked versions."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]+\])?==([A-Za-z0-9.+!-]+)$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = PINNED.match(line)
            assert match, f"not pinned with ==: {line!r}"
            pins[normalise(match.group(1))] = match.group(3)
    return pins


def make_target(name: str) -> tuple[list[str], list[str]]:
    """(prerequisites, recipe lines) of a Makefile target."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(name)}:([^\n]*)\n((?:\t[^\n]*\n)*)", text, re.MULTILINE)
    assert match, f"no target {name}"
    return match.group(1).split(), [line.strip() for line in match.group(2).splitlines()]


def test_every_line_of_the_lock_is_pinned_with_double_equals() -> None:
    assert len(locked()) >= 40


def test_the_lock_holds_every_dependency_the_project_declares() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    names = {normalise(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]) for requirement in declared}
    assert names - set(locked()) == set()


def test_make_install_syncs_exactly_the_lock_and_installs_the_project_without_resolving() -> None:
    prerequisites, recipe = make_target("$(STAMP)")
    assert "requirements.lock" in prerequisites
    installs = [line for line in recipe if " pip " in line]
    assert any(re.search(r"uv pip sync .*requirements\.lock$", line) for line in installs), installs
    project = [line for line in installs if "install" in line and "-e ." in line]
    assert project and all("--no-deps" in line for line in project)
    # Anything else installed by name is pinned (the installer itself).
    for line in installs:
        for requirement in re.findall(r'"([^"]+)"', line):
            assert "==" in requirement, (line, requirement)


def test_demo_test_and_ci_all_go_through_the_install_from_the_lock() -> None:
    assert make_target("install")[0] == ["$(STAMP)"]
    assert "install" in make_target("demo")[0]
    assert "install" in make_target("test")[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, re.MULTILINE)
    assert "pip install" not in ci  # CI installs nothing of its own


def test_the_environment_running_the_tests_holds_the_locked_versions() -> None:
    installed = {normalise(dist.metadata["Name"]): dist.version for dist in importlib.metadata.distributions()}
    pins = locked()
    assert {name: (installed.get(name), version) for name, version in pins.items()
            if installed.get(name) != version} == {}
