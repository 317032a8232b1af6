"""The test eMSP (``tests/ocpi_emsp``) as a subprocess on a free loopback port.

The eMSP is built on extrawest-ocpi (``py_ocpi``), which pins pydantic 1 and FastAPI 0.101, so it
runs from its own virtualenv, ``.venv-emsp``; this module builds that venv when it is missing
(``make test`` builds it first), under a file lock, as pytest-xdist workers start in parallel.
Nothing here imports py_ocpi: the tests talk to the eMSP over HTTP, through its loopback-only
``/control`` endpoints (tests/ocpi_emsp/README.md) and its OCPI endpoints.
"""

from __future__ import annotations

import base64
import fcntl
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from tests.integration.localstripe_server import free_port

REPO = Path(__file__).resolve().parents[2]
EMSP_DIR = REPO / "tests" / "ocpi_emsp"
REQUIREMENTS = EMSP_DIR / "requirements.txt"
VENV = REPO / ".venv-emsp"
STAMP = VENV / ".installed-stamp"  # the Makefile's target of the same name
PYTHON = VENV / "bin" / "python"
OCPI_API = "/ocpi/emsp/2.2.1"


class EmspError(RuntimeError):
    """The eMSP refused a control request, or could not be built or started."""


def ocpi_authorization(token: str) -> dict[str, str]:
    """The ``Authorization`` header of OCPI 2.2.1: ``Token <base64 of the token>``."""
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode("ascii")}


def _venv_ready() -> bool:
    return STAMP.exists() and STAMP.stat().st_mtime >= REQUIREMENTS.stat().st_mtime


def ensure_emsp_venv(timeout: float = 600.0) -> Path:
    """Build ``.venv-emsp`` as ``make`` does, unless its stamp is newer than the requirements."""
    if _venv_ready():
        return PYTHON
    lock_path = Path(tempfile.gettempdir()) / f"chargeledger-venv-emsp-{os.getuid()}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another xdist worker may be building it
        if _venv_ready():
            return PYTHON
        for command in (
            ["python3", "-m", "venv", str(VENV)],
            [str(VENV / "bin" / "pip"), "install", "-q", "-r", str(REQUIREMENTS)],
        ):
            done = subprocess.run(
                command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
            )
            if done.returncode != 0:
                raise EmspError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
        STAMP.touch()
    return PYTHON


@dataclass
class EmspProcess:
    process: subprocess.Popen[bytes]
    port: int
    token_a: str
    log_file: IO[bytes]
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=60.0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def versions_url(self) -> str:
        """What a CPO is given, with token A, to register with this eMSP."""
        return f"{self.url}/ocpi/versions"

    @property
    def api_url(self) -> str:
        """The eMSP's OCPI 2.2.1 modules: ``{api_url}/locations/...``, ``/tokens/``, ..."""
        return f"{self.url}{OCPI_API}"

    def log(self) -> str:
        """Everything the eMSP wrote (stdout and stderr), for failure messages."""
        self.log_file.flush()
        self.log_file.seek(0)
        return self.log_file.read().decode(errors="replace")

    def _control(
        self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)
    ) -> Any:
        response = self.http.request(method, f"/control/{path}", json=body)
        if response.status_code not in ok:
            raise EmspError(
                f"{method} /control/{path} -> {response.status_code}: {response.text}\n"
                f"--- eMSP log (tail) ---\n{self.log()[-4000:]}"
            )
        return response.json()

    def check(self, kind: str, document: Any) -> dict[str, Any]:
        """The full verdict: ``{"valid", "errors", "strict"}`` (py_ocpi's, then the extras)."""
        return dict(self._control("POST", f"validate/{kind}", document))

    def validate(self, kind: str, document: Any, *, strict: bool = True) -> list[str]:
        """``field.path: message`` for each error of py_ocpi's schema for ``kind`` and, with
        ``strict``, each ``strict: ...`` finding (what OCPI 2.2.1 forbids and py_ocpi lets by)."""
        verdict = self.check(kind, document)

        def line(error: dict[str, Any], prefix: str = "") -> str:
            where = ".".join(str(part) for part in error["loc"]) or "(document)"
            return f"{prefix}{where}: {error['msg']}"

        lines = [line(error) for error in verdict["errors"]]
        if strict:
            lines += [line(finding, "strict: ") for finding in verdict["strict"]]
        return lines

    def received(self, module: str) -> list[dict[str, Any]]:
        """What the CPO sent to ``module`` and the library accepted, in order: ``method``,
        ``path``, ``body`` (as sent), ``stored`` (the eMSP's object after it), ``strict``...
        ``module``: locations, sessions, cdrs, tariffs, command_results, credentials,
        authorizations, rejected (requests the library refused as invalid)."""
        return list(self._control("GET", f"received/{module}"))

    def stored(self, module: str) -> list[dict[str, Any]]:
        """The eMSP's current objects of locations, sessions, cdrs or tariffs."""
        return list(self._control("GET", f"stored/{module}"))

    def reset(self) -> None:
        """Forget what was received and stored (not the partner, not the tokens)."""
        self._control("POST", "reset")

    def register_with(
        self, versions_url: str, token_a: str, *, check: bool = True
    ) -> dict[str, Any]:
        """The eMSP registers with a CPO (it initiates the credentials handshake)."""
        outcome = dict(
            self._control(
                "POST", "register", {"versions_url": versions_url, "token_a": token_a}, (200, 409)
            )
        )
        if check and not outcome.get("registered"):
            raise EmspError(f"registration failed: {outcome.get('errors')}\n{self.log()[-4000:]}")
        return outcome

    def partner(self) -> dict[str, Any]:
        """``{"registered", "partner": {... "token_we_use", "token_partner_uses", "endpoints"},
        "last_handshake"}``, from either direction of the handshake."""
        return dict(self._control("GET", "partner"))

    def command(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send an OCPI command (``START_SESSION``...) to the CPO; ``body`` without
        ``response_url`` (the eMSP adds its own); ``token`` may be the uid of an eMSP token."""
        return dict(self._control("POST", f"command/{name}", body, (200, 400, 409)))

    def pull(
        self, module: str, params: dict[str, Any] | None = None, max_pages: int = 100
    ) -> dict[str, Any]:
        """GET every page of the CPO's ``module`` (locations, tariffs, sessions, cdrs):
        ``{"items", "pages", "errors"}``."""
        body = {"params": params or {}, "max_pages": max_pages}
        return dict(self._control("POST", f"pull/{module}", body, (200, 409)))

    def tokens(self) -> list[dict[str, Any]]:
        """The eMSP's tokens: ``[{"token": Token, "allowed": override or None}]``."""
        return list(self._control("GET", "tokens"))

    def put_token(self, token: dict[str, Any], allowed: str | None = None) -> None:
        """Add or replace a token; ``allowed`` fixes the AllowedType of its authorisations."""
        self._control("POST", "tokens", {"token": token, "allowed": allowed})

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


def start_emsp(token_a: str, *extra_args: str, timeout: float = 30.0) -> EmspProcess:
    """Start the eMSP and return once its control endpoint answers.

    ``extra_args``: more options of ``emsp_app.py`` (``--country-code``, ``--party-id``,
    ``--tokens-file``, ``--page-limit``, ``--log-level debug``).
    """
    python = ensure_emsp_venv()
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115  # the log outlives this function
    process = subprocess.Popen(
        [python, EMSP_DIR / "emsp_app.py", "--port", str(port), "--token-a", token_a, *extra_args],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=EMSP_DIR,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    emsp = EmspProcess(process, port, token_a, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = emsp.log()
            emsp.stop()
            raise EmspError(f"the eMSP exited ({process.returncode}):\n{output}")
        try:
            if httpx.get(f"{emsp.url}/control/health", timeout=2.0).status_code == 200:
                return emsp
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    output = emsp.log()
    emsp.stop()
    raise EmspError(f"the eMSP did not answer on port {port} within {timeout} s:\n{output}")


@contextmanager
def running_emsp(token_a: str, *extra_args: str) -> Iterator[EmspProcess]:
    """For a fixture of any scope: ``with running_emsp("token-a") as emsp: yield emsp``."""
    emsp = start_emsp(token_a, *extra_args)
    try:
        yield emsp
    finally:
        emsp.stop()
