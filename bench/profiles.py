"""Sampling a server under load with ``py-spy`` (``--py-spy PREFIX`` of the benches): the
collapsed stacks of ``py-spy record --format raw`` (one line per stack with its sample count)
go to ``PREFIX-<label>.txt``; ``python bench/profiles.py FILE`` prints where the time went."""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from pathlib import Path


def start_profile(prefix: str | None, name: str, pid: int) -> subprocess.Popen[bytes] | None:
    """Sample ``pid`` until :func:`stop_profile`, without pausing it for each sample."""
    if not prefix:
        return None
    label = "".join(c if c.isalnum() else "-" for c in name).strip("-")
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [py_spy, "record", "--pid", str(pid), "--rate", "200", "--nonblocking"]
    return subprocess.Popen(
        [*command, "--format", "raw", "--output", f"{prefix}-{label}.txt"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profile(profiler: subprocess.Popen[bytes] | None) -> None:
    """py-spy writes its file when interrupted (SIGINT), as after Ctrl-C."""
    if profiler is None:
        return
    profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(30)
    except subprocess.TimeoutExpired:
        profiler.kill()


def summary(path: str, top: int = 40) -> None:
    """The functions with the most samples on the stack (inclusive) and at its top (self)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"--- {title} (of {total} samples)")
        for frame, samples in counter.most_common(top):
            print(f"{100 * samples / total:6.1f}%  {frame}")


if __name__ == "__main__":
    summary(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40)
