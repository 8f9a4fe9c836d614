"""Locks hold against every writer on the host: POSIX record locks, the kind Samba and NFS take."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from archivist import workflow
from archivist.config import Config
from archivist.locking import lock_holder, posix_lock
from archivist.store import layout_of, lock

# What smbd does on the host when a Windows client locks a byte range of registry.yaml (and what
# lockd does for an NFS client): a classic fcntl record lock, held by another process.
_HOLDER = """
import fcntl, sys
f = open(sys.argv[1], "r+b")
fcntl.lockf(f, fcntl.LOCK_EX, 0, 0, 0)
print("locked", flush=True)
sys.stdin.readline()
fcntl.lockf(f, fcntl.LOCK_UN)
print("released", flush=True)
"""


def _wait_for(cond, what: str, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_allocation_waits_for_a_posix_lock_on_the_registry_then_issues_the_next_number(cfg: Config, config_file: Path) -> None:
    first = workflow.register(cfg, company="شرکت اول", staff="01")
    registry = cfg.root / "registry.yaml"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(registry)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        reg = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "archivist",
                "--config",
                str(config_file),
                "register",
                "--company",
                "شرکت دوم",
                "--staff",
                "01",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # the register process has archivist's own registry lock: it is now waiting for the client's
        own_lock = layout_of(cfg).locks / "registry.lock"
        _wait_for(
            lambda: reg.poll() is not None or (own_lock.exists() and lock_holder(own_lock) is not None),
            "register to take archivist's registry lock",
        )
        assert reg.poll() is None, f"allocation did not wait for the lock on registry.yaml: {reg.communicate()}"
        assert len(list((cfg.root / "applicants").iterdir())) == 1
        holder.stdin.write("\n")
        holder.stdin.flush()
        out, err = reg.communicate(timeout=60)
        assert reg.returncode == 0, err
        assert "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()
    assert first.lead == "00001"
    assert "00002" in out
    assert yaml.safe_load(registry.read_text())["applicant"] == 2


def test_lock_is_not_dropped_when_the_locked_file_is_read_elsewhere_in_the_process(cfg: Config) -> None:
    # Classic record locks vanish when the process closes *any* descriptor of the file; the
    # registry is read with a plain open/close while it is locked.
    layout = layout_of(cfg)
    path = layout.root / "registry.yaml"
    path.write_text("applicant: 0\n")
    with posix_lock(path):
        path.read_bytes()
        assert lock_holder(path) is not None


def test_threads_of_one_process_exclude_each_other(cfg: Config) -> None:
    layout = layout_of(cfg)
    inside = 0
    overlap = []

    def work() -> None:
        nonlocal inside
        for _ in range(20):
            with lock(layout, "registry"):
                inside += 1
                overlap.append(inside)
                time.sleep(0.001)
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(overlap) == 1
