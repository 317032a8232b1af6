"""Files that hold secrets are the service user's alone (issue 11 item 6): the SQLite database
holds password hashes and every customer's data, the data directory holds it and the JWT
signing key. New ones are created 0600 (files) and 0700 (the data directory), whatever the
umask; existing database files are tightened to 0600 on start, so an installation made by an
older version is fixed by its next start."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

log = logging.getLogger("chargeledger")

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_directory(path: Path) -> None:
    """Create ``path`` (and missing parents) with mode 0700. An existing directory keeps the
    mode its owner gave it (it may be shared on purpose, e.g. a mount point); a warning names
    it when others may read it."""
    try:
        path.mkdir(parents=True, mode=PRIVATE_DIRECTORY)
    except FileExistsError:
        if path.is_dir() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            log.warning(
                "the data directory is readable by other users; chmod 700 it",
                extra={"path": str(path)},
            )
        return
    path.chmod(PRIVATE_DIRECTORY)  # mkdir's mode is filtered by the umask


def private_sqlite_file(path: Path) -> None:
    """Make the database file exist with mode 0600 before SQLite opens it: SQLite creates a
    missing file 0644 and gives its -wal and -shm files the mode of the database file
    (os_unix.c ``findCreateFileMode``). Existing files and companions are tightened."""
    if not path.parent.is_dir():
        private_directory(path.parent)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    os.close(descriptor)
    for candidate in (path, *(path.with_name(path.name + s) for s in SQLITE_COMPANIONS)):
        _tighten(candidate)


def _tighten(path: Path) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != PRIVATE_FILE:
            path.chmod(PRIVATE_FILE)
    except FileNotFoundError:
        return
    except PermissionError:
        log.warning(
            "cannot make a database file private (not its owner)", extra={"path": str(path)}
        )


def stored_secret(path: Path) -> str:
    """A secret made once per data directory (the JWT signing key, the sandbox's webhook
    secret), so restarts keep using it. Created atomically, readable by its owner only
    (0600), 384 random bits; a file others may read is made private again.

    Nodes of a cluster must share one secret: set it in the environment there.
    """
    private_directory(path.parent)
    existing = path.read_text().strip() if path.exists() else ""
    if existing:
        if path.stat().st_mode & 0o077:
            log.warning(
                "secret file was readable by others; made private", extra={"path": str(path)}
            )
            path.chmod(PRIVATE_FILE)
        return existing
    secret = secrets.token_urlsafe(48)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secret)
        if path.exists():  # empty: left by an interrupted write of an older version
            os.replace(draft, path)
        else:
            os.link(draft, path)  # fails if another process has just made one
    except FileExistsError:
        return path.read_text().strip()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(draft)
    return secret
