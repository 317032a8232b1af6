"""The localstripe Stripe API emulator as a subprocess on a free loopback port.

localstripe pickles its whole store to the fixed path ``/tmp/localstripe.pickle`` after every
write and reloads it at start. The subprocess is started with that persistence switched off, so
each run starts empty and two runs (or another developer's emulator) never share state.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import httpx

API_KEY = "sk_test_chargeledger_localstripe"

_BOOT = (
    "import localstripe.resources as resources\n"
    "resources.Store.dump_to_disk = lambda self: None\n"
    "from localstripe.server import start\n"
    "start()\n"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalStripe:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_localstripe(timeout: float = 20.0) -> LocalStripe:
    """Start the emulator and return once it answers an authenticated request."""
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115  # the access log outlives this function
    process = subprocess.Popen(
        [sys.executable, "-c", _BOOT, "--port", str(port), "--from-scratch"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server = LocalStripe(process, port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"localstripe exited: {log.read().decode(errors='replace')}")
        try:
            probe = httpx.get(f"{server.url}/v1/payment_intents", auth=(API_KEY, ""))
            if probe.status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"localstripe did not answer on port {port} within {timeout} s")
