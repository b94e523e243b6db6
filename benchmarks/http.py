"""Load runs through gunicorn on 127.0.0.1 with wrk, bounded in time.

gunicorn runs as production would (see the README): sync workers, ``--no-control-socket``, no
access log. wrk keeps a fixed number of connections busy for a fixed time; its Lua script
(lua/requests.lua) gives every request its own survey link and counts wrong statuses.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "lua" / "requests.lua"


@dataclass(frozen=True)
class LoadSettings:
    workers: int
    #: wrk threads and open connections.
    threads: int
    connections: int
    seconds: int


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    #: Responses with another status than expected, plus socket errors and timeouts.
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    tokens_reused: int = 0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    """:raise RuntimeError: with install advice when wrk is missing."""
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk (Debian 12)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn APP`` on a free port of 127.0.0.1, for the duration of a ``with`` block."""

    def __init__(self, app: str, workers: int, env: dict[str, str], log_file: Path,
                 ready_path: str = "/healthz"):
        self.app, self.workers, self.env, self.log_file = app, workers, env, log_file
        self.ready_path = ready_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        command = [sys.executable, "-m", "gunicorn", "--workers", str(self.workers),
                   "--bind", f"127.0.0.1:{self.port}", "--no-control-socket",
                   "--chdir", str(ROOT), self.app]
        self.log = open(self.log_file, "ab")
        self.process = subprocess.Popen(command, env={**os.environ, **self.env},
                                        stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; "
                                   f"see {self.log_file}")
            try:
                with urllib.request.urlopen(self.base_url + self.ready_path, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.log_file}")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the arbiter stops its workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def run_wrk(url: str, settings: LoadSettings, mode: str = "plain", tokens: Path | None = None,
            expected: int = 200, seconds: int | None = None,
            headers: dict[str, str] | None = None) -> LoadResult:
    """Run wrk against ``url`` for ``seconds`` (default: the settings') and parse its report;
    ``headers`` go with every request (e.g. a session cookie)."""
    seconds = seconds or settings.seconds
    command = [wrk_path(), "-t", str(settings.threads), "-c", str(settings.connections),
               "-d", f"{seconds}s", "--timeout", "10s", "-s", str(LUA)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command += [url, "--", mode, str(tokens or ""), str(expected), str(settings.threads)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr or out.stdout}")
    line = next(li for li in reversed(out.stdout.splitlines()) if li.startswith("{"))
    data = json.loads(line)
    errors = (data["wrong_status"] + data["connect"] + data["read"] + data["write"]
              + data["timeout"])
    return LoadResult(
        requests=data["requests"], seconds=data["duration_us"] / 1e6, errors=errors,
        p50_ms=data["p50"] / 1000, p95_ms=data["p95"] / 1000, p99_ms=data["p99"] / 1000,
        tokens_reused=data["tokens_reused"],
    )
