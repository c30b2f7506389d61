"""Weft served by uvicorn with the logging ``weft serve`` uses, plus routes that fail, for tests of the server's log.

Run as ``python -m tests.served_app PORT`` with the ``WEFT_*`` variables set; ``ServedWeft`` starts it, sends
its output to a file and reads that file back.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import uvicorn
from litestar import get

from backend.app import create_app
from backend.core.web import uvicorn_log_config

START_TIMEOUT_SECONDS = 90.0
ROOT = Path(__file__).resolve().parent.parent


@get("/test/crash", sync_to_thread=False, include_in_schema=False)
def crash() -> None:
    raise RuntimeError("the test route failed on purpose")


@get("/test/crash/{token:str}", sync_to_thread=False, include_in_schema=False)
def crash_with_secret(token: str) -> None:
    """A route added later with a secret in its path: named ``token``, it is redacted without being listed."""
    raise RuntimeError("the test route with a secret failed on purpose")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServedWeft:
    """The app in a child process, as an operator runs it; ``log()`` is everything it has written so far."""

    def __init__(self, environ: dict[str, str], log_file: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        self.environ = {**os.environ, **environ, "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_file.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.served_app", str(self.port)],
                cwd=ROOT,
                env=self.environ,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the served app did not start:\n{self.log()}")
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


def main() -> None:
    app = create_app()
    app.register(crash)
    app.register(crash_with_secret)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=uvicorn_log_config(), log_level="info")


if __name__ == "__main__":
    main()
