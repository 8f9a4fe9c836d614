"""An office on one host, measured: commands while another process holds the index, and allocation
while a Samba-like client holds registry.yaml.

`python -m bench.office_bench [--records N]`

Prints wall times of real `archivist` processes (interpreter start included), each next to the
same command with nothing held (the baseline of this run) and their ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .scratch import generate

CONFIG = """\
root: ./archive
staff: {"01": "مریم احمدی", "02": "Reza Karimi"}
services: {"1": ISO certification, "2": Product certification}
"""

# Another process (a second daemon, a `reindex`, a sqlite3 shell) in a write transaction on the index
# (argv[1]) until a line arrives on its stdin; argv[2] names the holder (also used by tests/test_index_busy).
WRITER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT OR REPLACE INTO meta VALUES (?, '1')", (sys.argv[2],))
print("holding", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""

CLIENT_LOCK = """
import fcntl, sys, time
f = open(sys.argv[1], "r+b")
fcntl.lockf(f, fcntl.LOCK_EX, 0, 0, 0)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def run(config: Path, *args: str) -> float:
    started = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-m", "archivist", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, ARCHIVIST_STAFF="01"),
    )
    took = time.monotonic() - started
    if p.returncode != 0 or "Traceback" in p.stderr:
        raise SystemExit(f"{args}: exit {p.returncode}: {p.stderr}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=2000)
    n = ap.parse_args().records
    with tempfile.TemporaryDirectory(prefix="office-bench-") as tmp:
        base = Path(tmp)
        config = base / "config.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        generate(config, n)
        run(config, "reindex")
        from archivist.config import load_config

        cfg = load_config(config)
        name = sorted(os.listdir(cfg.root / "applicants"))[0]
        lead = (cfg.naming.applicant.parse(name) or {})["lead"]  # an open applicant
        cmds = {
            "log": ("log", lead, "--kind", "note", "--note", "bench"),
            "search": ("search", "شرکت", "--json"),
            "register": ("register", "--company", "Bench Co", "--staff", "01", "--yes"),
        }
        base_t = {k: min(run(config, *a) for _ in range(3)) for k, a in cmds.items()}
        holder = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(base / "archive/.archivist/index.sqlite"), "held-by-bench"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout and holder.stdin and holder.stdout.readline().strip() == "holding"
        try:
            held_t = {k: min(run(config, *a) for _ in range(3)) for k, a in cmds.items()}
        finally:
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait()
        print(f"{n} records; index held in a write transaction by another process:")
        for k in cmds:
            print(f"  {k:9s} {held_t[k]:6.2f} s held  vs {base_t[k]:6.2f} s free   ratio {held_t[k] / base_t[k]:.2f}")
        hold = 3.0
        client = subprocess.Popen(
            [sys.executable, "-c", CLIENT_LOCK, str(base / "archive/registry.yaml"), str(hold)], stdout=subprocess.PIPE, text=True
        )
        assert client.stdout and client.stdout.readline().strip() == "locked"
        started = time.monotonic()
        took = run(config, *cmds["register"])
        client.wait()
        print(
            f"register while a client holds registry.yaml for {hold:.0f} s: {took:.2f} s "
            f"(free: {base_t['register']:.2f} s; waited ≈ {time.monotonic() - started - base_t['register']:.2f} s)"
        )


if __name__ == "__main__":
    main()
