"""The product's processes in a chaos run, as an operator runs them: `returnbridge serve` (web: webhooks) and
`returnbridge worker` consumers on PostgreSQL + Redis, or one `serve` doing everything on SQLite. Real subprocesses,
killed with SIGKILL (no clean-up of any kind runs) and started again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx


@dataclass
class Member:
    name: str
    command: list[str]
    process: subprocess.Popen[Any] | None = None
    log: IO[str] | None = None
    starts: int = 0


class Fleet:
    def __init__(self, env: dict[str, str], workdir: Path, *, web_port: int, workers: int, single: bool) -> None:
        self.env = env
        self.workdir = workdir
        self.web_port = web_port
        cli = [sys.executable, "-m", "returnbridge.cli"]
        serve = [*cli, "serve", "--port", str(web_port)]
        if single:
            self.members = [Member("serve", serve)]
        else:
            self.members = [Member("web", [*serve, "--no-worker"])]
            self.members += [Member(f"worker{n}", [*cli, "worker", "--workers", "4"]) for n in range(workers)]
        self.kills = 0

    @property
    def killable(self) -> list[Member]:
        """The members a fault may kill: every worker; on SQLite the one process."""
        consumers = [m for m in self.members if m.name != "web"]
        return consumers or self.members

    def start(self) -> None:
        for member in self.members:
            self._spawn(member)
        self.wait_for_web()

    def _spawn(self, member: Member) -> None:
        if member.log is None:
            member.log = (self.workdir / f"{member.name}.log").open("a")
        member.starts += 1
        member.log.write(f"\n=== start {member.starts} at {time.strftime('%H:%M:%S')}\n")
        member.log.flush()
        member.process = subprocess.Popen(member.command, env=self.env, cwd=self.workdir, stdout=member.log,
                                          stderr=subprocess.STDOUT)

    def wait_for_web(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.web_port}/healthz", timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            for member in self.members:
                if member.process is not None and member.process.poll() is not None:
                    raise RuntimeError(f"{member.name} exited with {member.process.returncode}; see "
                                       f"{self.workdir / (member.name + '.log')}")
            time.sleep(0.3)
        raise RuntimeError(f"the web process did not answer on port {self.web_port} in {timeout:.0f} s")

    def kill(self, member: Member) -> None:
        """SIGKILL: the process dies between any two instructions, holding whatever leases and rows it held."""
        if member.process is not None and member.process.poll() is None:
            member.process.send_signal(signal.SIGKILL)
            member.process.wait(10)
            self.kills += 1

    def restart(self, member: Member) -> None:
        if member.process is None or member.process.poll() is not None:
            self._spawn(member)

    def dead(self) -> list[str]:
        """Members that died although nobody killed them (a crash is a finding, not chaos)."""
        return [m.name for m in self.members if m.process is not None and m.process.poll() is not None]

    def stop(self) -> None:
        for member in self.members:
            if member.process is not None and member.process.poll() is None:
                member.process.send_signal(signal.SIGINT)
        for member in self.members:
            if member.process is None:
                continue
            try:
                member.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                member.process.kill()
                member.process.wait(5)
            if member.log is not None:
                member.log.close()
                member.log = None
