"""Run the test eMSP: ``.venv-emsp/bin/python tests/ocpi_emsp/emsp_app.py --port N --token-a A``.

An OCPI 2.2.1 eMSP built on extrawest-ocpi (``py_ocpi``), the independent counterpart that
chargeledger's CPO interface is tested against. It runs in its own virtualenv, ``.venv-emsp``
(py_ocpi pins pydantic 1 and an old FastAPI), never in the project's. See README.md here.

py_ocpi reads its settings (host, protocol, prefix) from the environment once, at import, and
builds its advertised endpoint URLs from them; so this entry point sets the environment first,
patches two validator bugs of the library (see ``patch_py_ocpi``), and only then imports the
eMSP itself (``emsp_service``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (loopback)")
    parser.add_argument(
        "--token-a", required=True, help="CREDENTIALS_TOKEN_A a CPO registers with (plain text)"
    )
    parser.add_argument("--country-code", default="DE", help="the eMSP's own country code")
    parser.add_argument("--party-id", default="EMS", help="the eMSP's own party id")
    parser.add_argument("--name", default="chargeledger test eMSP", help="business name")
    parser.add_argument(
        "--tokens-file",
        type=Path,
        help="JSON list of OCPI Token objects to hold instead of the seeded ones",
    )
    parser.add_argument(
        "--page-limit", type=int, default=50, help="most tokens one GET tokens page returns"
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    return parser.parse_args(argv)


def configure_environment(options: argparse.Namespace) -> None:
    """py_ocpi's ``Settings`` (pydantic BaseSettings), read when py_ocpi is first imported."""
    os.environ.update(
        {
            "ENVIRONMENT": "development" if options.log_level == "debug" else "production",
            "NO_AUTH": "false",
            "PROJECT_NAME": "chargeledger test eMSP",
            "OCPI_HOST": f"{options.host}:{options.port}",
            "OCPI_PREFIX": "ocpi",
            "PROTOCOL": "http",
            "COUNTRY_CODE": options.country_code,
            "PARTY_ID": options.party_id,
            "TRAILING_SLASH": "true",
            # CiString values come out upper-cased (OCPI's examples are upper case); the raw
            # bodies are kept as received as well.
            "CI_STRING_LOWERCASE_PREFERENCE": "false",
        }
    )


def _strict_number(cls: type, v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise TypeError(f"expected a JSON number but received {type(v).__name__}")
    return cls(float(v))


def _typed_datetime(cls: type, v: Any) -> Any:
    # py_ocpi's DateTime.validate, unchanged but for the first two lines.
    if not isinstance(v, str):
        raise TypeError(f"expected a DateTime string but received {type(v).__name__}")
    if v.endswith("Z"):
        v = f"{v[:-1]}+00:00"
    try:
        formatted_v = datetime.fromisoformat(v)
    except ValueError as e:
        raise ValueError(f"Invalid RFC 3339 timestamp: {v}") from e
    return cls(formatted_v.isoformat(timespec="seconds").replace("+00:00", "Z"))


def patch_py_ocpi() -> None:
    """Fix two validators of ``py_ocpi.core.data_types`` (README.md, "Workarounds").

    - ``Number.validate`` builds a ``TypeError`` but never raises it, so the JSON strings
      ``"12.5"`` and booleans pass as numbers (OCPI types: numbers are JSON numbers). A pydantic 2
      CPO that dumps ``Decimal`` as a string must be caught, so it raises.
    - ``DateTime.validate`` calls ``str.endswith`` on whatever it gets; a number there raises
      ``AttributeError``, which pydantic does not turn into a validation error (the request then
      ends as a bare "3000 Generic server error"). It raises ``TypeError`` instead.

    ``import py_ocpi`` builds every schema (its ``__init__`` imports ``main``), and each schema
    field holds the validator it was built with; so the functions' code is swapped in place,
    which every field (and FastAPI's clones of them) then runs. Both run in the globals of
    ``py_ocpi.core.data_types`` (where ``datetime`` is the class, as here).
    """
    from py_ocpi.core import data_types

    data_types.Number.validate.__func__.__code__ = _strict_number.__code__
    data_types.DateTime.validate.__func__.__code__ = _typed_datetime.__code__


def load_tokens(path: Path | None) -> list[dict[str, Any]] | None:
    if path is None:
        return None
    tokens = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(tokens, list):
        raise SystemExit(f"{path}: expected a JSON list of Token objects")
    return tokens


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=options.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    configure_environment(options)
    patch_py_ocpi()

    # Imported only now: after the environment and the patches (see the module docstring).
    import emsp_service
    import uvicorn

    app = emsp_service.create_app(
        token_a=options.token_a,
        country_code=options.country_code,
        party_id=options.party_id,
        name=options.name,
        base_url=f"http://{options.host}:{options.port}",
        tokens=load_tokens(options.tokens_file),
        page_limit=options.page_limit,
    )
    uvicorn.run(app, host=options.host, port=options.port, log_level=options.log_level)


if __name__ == "__main__":
    main()
