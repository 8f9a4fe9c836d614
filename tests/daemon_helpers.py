"""A real daemon process on a real tmp archive, and polling with a deadline (no sleeps as asserts)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archivist import store, workflow
from archivist.config import Config, load_config
from archivist.office import office_status
from archivist.record import LOG_NAME, load_record

DAEMON_CONFIG = """\
root: ./archive
staff:
  "01": "مریم احمدی"
  "02": "Reza Karimi"
  "07": "سارا"
services:
  "1": ISO certification
  "2": Product certification
calendar: jalali
timezone: Asia/Tehran
naming:
  policy: {policy}
daemon:
  debounce_ms: 100
  settle_seconds: 1.0
  reconcile_minutes: 30
  polling: "off"
"""


def eventually(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (FileNotFoundError, json.JSONDecodeError, ValueError) as e:  # a file mid-rename
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


class Archive:
    """A tmp archive with its config, CLI runner and daemon process handles."""

    def __init__(self, base: Path, policy: str = "report", extra: str = "") -> None:
        self.base = base
        self.config = base / "config.yaml"
        self.config.write_text(DAEMON_CONFIG.format(policy=policy) + extra, encoding="utf-8")
        self.cfg: Config = load_config(self.config)
        self.cfg.root.mkdir(parents=True, exist_ok=True)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.run("init")

    @property
    def root(self) -> Path:
        return self.cfg.root

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("ARCHIVIST_NOW", None)
        env["ARCHIVIST_STAFF"] = "01"
        return env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(
            [sys.executable, "-m", "archivist", "--config", str(self.config), *args],
            cwd=self.base,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and res.returncode != 0:
            raise AssertionError(f"archivist {' '.join(args)} exited {res.returncode}: {res.stderr}")
        return res

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def register(self, company: str, staff: str = "01") -> str:
        return workflow.register(self.cfg, company=company, staff=staff, by="01").lead

    def convert(self, lead: str) -> str:
        return workflow.convert(self.cfg, lead, service="1", by="01").case or ""

    def start(self, wait: bool = True) -> subprocess.Popen[bytes]:
        err = open(self.base / f"daemon-{len(self.procs)}.stderr", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "archivist", "--config", str(self.config), "daemon"],
            cwd=self.base,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        self.procs.append(proc)
        if wait:
            self.wait_ready()
        return proc

    def status(self) -> dict[str, Any]:
        return office_status(self.cfg)

    def wait_ready(self, timeout: float = 20.0) -> dict[str, Any]:
        """Running, first reconcile done, nothing pending."""
        return eventually(
            lambda: (s := self.status())["running"] and s["last_reconcile"] and s["pending_events"] == 0 and s,
            timeout,
            "the daemon to be up and idle",
        )

    def published(self) -> int:
        """When the daemon last published its state (the file's mtime), 0 before the first time."""
        try:
            return (self.root / ".archivist" / "daemon-state.json").stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def wait_idle(self, timeout: float = 20.0) -> dict[str, Any]:
        """Nothing pending, twice: then once more in a state published after that (not a fixed
        sleep), because a file written just before may not have been pending yet."""
        since: int | None = None

        def idle() -> Any:
            if since is not None and self.published() == since:
                return False
            s = self.status()
            return s["pending_events"] == 0 and s

        eventually(idle, timeout, "the daemon to finish its work")
        since = self.published()
        return eventually(idle, timeout, "the daemon to finish its work")

    def daemon_log(self) -> str:
        try:
            return (self.root / ".archivist" / "daemon.log").read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def search(self, query: str) -> list[dict[str, Any]]:
        return self.json("search", query)

    def events(self, folder: Path, kind: str) -> list[dict[str, Any]]:
        return [e for e in load_record(folder).events if e["kind"] == kind]

    def folder_of(self, code: str) -> Path:
        return store.locate(self.cfg, code)

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def log_bytes(folder: Path) -> bytes:
    return (folder / LOG_NAME).read_bytes()


class Clock:
    """A monotonic clock the test moves by hand (`clock.t += 2`)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t
