"""What the benches read about a running process from /proc: its memory and its CPU time."""

from __future__ import annotations

import os
from pathlib import Path


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MB, from /proc; zeros when it is gone."""
    cur = peak = 0.0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    cur = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    return cur, peak


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process so far (from /proc/<pid>/stat); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


PROBE = "x = 0\nfor i in range(3_000_000):\n    x += i\n"  # 3.8 G instructions under callgrind


def speed_probe(python: str, runs: int = 3) -> float:
    """Seconds a fixed pure-Python loop takes in a child (the median of `runs`): this VM's CPU
    speed swings by 2× with its neighbours (0.23 s quiet, 0.55 s busy, on an idle machine), so a
    bench prints it beside its figures to say which machine they were measured on."""
    import statistics
    import subprocess

    timer = f"import time\nt = time.perf_counter()\n{PROBE}print(time.perf_counter() - t)\n"
    return statistics.median(
        float(subprocess.run([python, "-c", timer], capture_output=True, text=True, check=True).stdout) for _ in range(runs)
    )
