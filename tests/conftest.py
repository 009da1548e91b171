"""What the black-box Python tests under tests/ share: the litecnn binary ($LITECNN_BIN, built by
./scripts/test) and a way to start `litecnn serve` on 127.0.0.1 and a free port.

A missing $LITECNN_BIN is a failure, never a skip.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

START_TIMEOUT_S = 60


@pytest.fixture(scope="session")
def litecnn_bin() -> Path:
    value = os.environ.get("LITECNN_BIN")
    if not value:
        pytest.fail("$LITECNN_BIN is not set: run the tests through ./scripts/test", False)
    path = Path(value)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"$LITECNN_BIN={value} is not an executable file", False)
    return path


Launch = Callable[..., str]


@pytest.fixture(scope="module")
def launch_server(litecnn_bin: Path) -> Iterator[Launch]:
    """Starts `litecnn serve ARGS` (port 0, loopback) and returns its `host:port`; every server
    started is stopped (SIGTERM, by PID) at the end of the module.

    `env` adds to the environment; `log` is a file that receives the server's stderr."""
    started: list[subprocess.Popen] = []

    def launch(*args: str, env: dict[str, str] | None = None, log: Path | None = None) -> str:
        cmd = [str(litecnn_bin), "serve", "--host", "127.0.0.1", "--port", "0", *args]
        stderr = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (kept by the child)
        proc = subprocess.Popen(
            cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        started.append(proc)
        return _announced_address(proc)

    yield launch
    for proc in started:
        proc.terminate()
    for proc in started:
        proc.wait(timeout=30)


def _announced_address(proc: subprocess.Popen) -> str:
    """The address of the server's first stdout line; the rest of its output is drained."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_S)
    first = lines[0].strip() if lines else ""
    prefix = "listening on http://"
    if not first.startswith(prefix):
        pytest.fail(f"the server did not announce its address: {first!r}", False)
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return first.removeprefix(prefix)
