"""SQLite runs as one node (issue 18): one ``chargeledger serve`` per database file.

A node keeps state of its own beside the database: the stations' links and their open
sessions, the OCPP group commit, the in-process command bus. Several nodes need PostgreSQL,
which shares what they must share (advisory locks, notifications). A second ``serve`` on one
SQLite file would hold stations the first cannot reach and write sessions behind its back, so
it is refused before it starts.

The claim is a ``flock`` of the file ``<database>-node``, held as long as the process lives:
the kernel drops it when the process ends, SIGKILL included, so a restart after a crash is
never refused. (``flock``, not the byte-range locks of ``locks.py``: a process's byte-range
locks on a file all end when it closes any descriptor of that file.) The command line's other
commands take no claim: they are the one node's tools, and share the file with it as before.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from chargeledger.adapters.files import private_directory


def claim_sqlite_node(database: Path) -> bool:
    """Whether this process now serves ``database`` (False: another process does). The
    claim lasts until the process ends: its descriptor is never closed."""
    private_directory(database.parent)  # as the database's own, on a first start
    claim = database.with_name(database.name + "-node")
    descriptor = os.open(claim, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # EWOULDBLOCK: another process holds it
        os.close(descriptor)
        return False
    return True
