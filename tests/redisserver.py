"""A throwaway Redis server for the queue's tests: a temp dir, a unix socket, no TCP, no disk.

Ready in a few milliseconds; stopped by its pid at the end of the run.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RedisServer:
    folder: Path
    process: subprocess.Popen

    @property
    def socket(self) -> Path:
        return self.folder / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_redis() -> RedisServer:
    """:raise RuntimeError: with install advice when redis-server is missing or does not start."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found: install it with "
                           "'apt-get install redis-server' (Debian 12); the queue's tests need it")
    folder = Path(tempfile.mkdtemp(prefix="surveyapp-redis-"))
    process = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(folder / "redis.sock"),
         "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = RedisServer(folder, process)
    deadline = time.monotonic() + 10
    while not server.socket.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            error = process.stderr.read().decode() if process.stderr else ""
            server.stop()
            raise RuntimeError(f"redis-server did not start: {error.strip()}")
        time.sleep(0.005)
    return server
