"""``TokenBox`` with Fernet (AES-128-CBC and HMAC-SHA256, from ``cryptography``).

The tokens we call partners with must be readable by us, so unlike the tokens partners call
us with they cannot be kept as digests. They are sealed under a key derived (HKDF-SHA256,
its own label) from the installation's station key, which lives outside the database
(``CHARGELEDGER_STATION_SECRET_KEY`` or ``<data dir>/station-secret-key``): a copy of the
database alone does not let anyone call a partner in our name.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from chargeledger.errors import ConfigurationError

_LABEL = b"chargeledger ocpi partner tokens v1"


class FernetTokenBox:
    def __init__(self, installation_key: bytes) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(
            installation_key
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError(
                "a partner token was sealed under another station key; register again",
                code="partner_token_unreadable",
            ) from exc
