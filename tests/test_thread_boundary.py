"""The daemon's threads under one error boundary (issue 13): a real daemon process, real failures
injected through the documented ARCHIVIST_FAULTS hook (archivist/faults.py) at the top of each
thread's loop or callback — not mocks of the code under test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_helpers import Archive, eventually


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    a = Archive(tmp_path, policy="report")
    yield a
    a.stop_all()


def _reports(text: str) -> list[Path]:
    return [Path(p) for p in re.findall(r"the full report is in (\S+\.txt)", text)]


def test_failing_threads_are_logged_with_a_report_and_restarted(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    lead = archive.register("شرکت پایدار")
    monkeypatch.setenv("ARCHIVIST_FAULTS", "daemon.feeder=2,daemon.worker=1,daemon.scheduler=2,daemon.observer=1")
    proc = archive.start(wait=False)
    monkeypatch.delenv("ARCHIVIST_FAULTS")
    log = eventually(
        lambda: all(f"thread {t} failed" in (x := archive.daemon_log()) for t in ("index-feeder", "worker", "scheduler")) and x,
        60,
        "each thread's failure in daemon.log",
    )
    for thread in ("index-feeder", "worker", "scheduler"):
        line = next(ln for ln in log.splitlines() if f"thread {thread} failed" in ln)
        assert "InjectedFault: injected failure at daemon." in line and "restarting it in" in line, line
    reports = _reports(log)
    assert reports and all("Traceback" in p.read_text(encoding="utf-8") for p in reports)
    archive.wait_ready(60)
    # every thread is back at work: a dropped file is filed (observer + worker), found (feeder)
    (archive.inbox / f"{lead} contract.pdf").write_bytes(b"%PDF-1.4 signed")
    folder = archive.folder_of(lead)
    eventually(lambda: (folder / f"{lead} contract.pdf").exists(), 60, "the file to be filed after the restarts")
    eventually(lambda: archive.search("پایدار"), 60, "the index to answer")
    assert "thread observer failed" in archive.daemon_log()
    assert proc.poll() is None and archive.status()["running"]


def test_a_thread_that_keeps_failing_stops_the_daemon_with_a_clear_status(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVIST_FAULTS", "daemon.worker=always")
    proc = archive.start(wait=False)
    monkeypatch.delenv("ARCHIVIST_FAULTS")
    assert proc.wait(timeout=120) == 1
    text = archive.run("status").stdout
    head = text.splitlines()[0]
    assert head.startswith("daemon stopped: worker failed: InjectedFault: injected failure at daemon.worker"), head
    report = Path(re.search(r"report: (\S+\.txt)", head).group(1))  # type: ignore[union-attr]
    assert "Traceback" in report.read_text(encoding="utf-8")
    assert archive.json("status")["stopped"].startswith("daemon stopped: worker failed:")
    assert "5 failures within 60 s" in archive.daemon_log()
    # started again (nothing injected now) it runs, and the status no longer says stopped
    archive.start()
    assert archive.json("status")["stopped"] is None
