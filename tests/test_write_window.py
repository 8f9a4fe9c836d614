"""Issue 13: a save that lands between the writer's "is it still the file I read" check and its
rename is not overwritten, and a confirmed event stays in the journal after the daemon saw it
(not forgotten after ten minutes), so a stale save much later still cannot lose it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from archivist import journal, store, workflow
from archivist.config import Config
from archivist.dates import now
from archivist.record import LOG_NAME, load_record
from tests.test_adversarial import _run

# a real editor in another process: read, change the contact person, write a temp file, rename it over
EDITOR = """
import os, sys, yaml
path = sys.argv[1]
with open(path, encoding="utf-8") as f:
    data = yaml.safe_load(f)
data["contact"]["person"] = sys.argv[2]
tmp = os.path.join(os.path.dirname(path), ".editor-save.tmp")
with open(tmp, "w", encoding="utf-8") as f:
    yaml.safe_dump(data, f, allow_unicode=True, sort_keys=False)
    f.flush()
    os.fsync(f.fileno())
os.rename(tmp, path)
"""


def _editor_save(path: Path, person: str) -> None:
    subprocess.run([sys.executable, "-c", EDITOR, str(path), person], check=True, timeout=60)


def _save_in_the_window(monkeypatch: pytest.MonkeyPatch, person: str) -> list[Path]:
    """The hook point: the writer's look at the file (store.file_ident) answers as it was, then
    the editor process saves — i.e. the save lands after the check, before the rename."""
    real = store.file_ident
    fired: list[Path] = []

    def look_then_editor_saves(path: Path) -> tuple[int, int, int, int] | None:
        ident = real(path)
        if not fired and path.name == LOG_NAME:
            fired.append(path)
            _editor_save(path, person)
        return ident

    monkeypatch.setattr(store, "file_ident", look_then_editor_saves)
    return fired


def test_a_save_in_the_window_before_the_rename_is_kept_and_the_event_added_on_it(
    cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = workflow.register(cfg, company="شرکت پنجره", staff="01")
    fired = _save_in_the_window(monkeypatch, "خانم رضایی (ویرایش دستی)")
    workflow.log_event(cfg, rec.lead, kind="call", note="تماس تایید شده", by="01")
    assert fired  # the editor really saved inside the window
    after = load_record(rec.folder)
    assert after.data["contact"]["person"] == "خانم رضایی (ویرایش دستی)"  # the editor's save was not overwritten
    assert [e.get("note") for e in after.events if e["kind"] == "call"] == ["تماس تایید شده"]  # and the event is on it, once
    assert sorted(p.name for p in rec.folder.iterdir() if p.name.startswith(".")) == []  # no temp or displaced file left


def test_where_the_filesystem_refuses_an_exchange_the_write_is_a_plain_rename(
    cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = workflow.register(cfg, company="شرکت ساده", staff="01")
    monkeypatch.setattr(store, "_RENAME_EXCHANGE", 1 << 30)  # an unknown flag: the kernel says EINVAL
    workflow.log_event(cfg, rec.lead, kind="note", note="یادداشت", by="01")
    assert [e.get("note") for e in load_record(rec.folder).events if e["kind"] == "note"] == ["یادداشت"]
    assert [p.name for p in rec.folder.iterdir()] == [LOG_NAME]


def test_a_journaled_event_outlives_ten_minutes_after_the_daemon_saw_it(cfg: Config, config_file: Path) -> None:
    assert _run(config_file, "init").returncode == 0
    rec = workflow.register(cfg, company="شرکت حافظه", staff="01")
    stale = (rec.folder / LOG_NAME).read_bytes()  # an editor opens the log and keeps it open
    two_hours_ago = now(cfg.timezone) - timedelta(hours=2)  # a call logged for earlier today
    workflow.log_event(cfg, rec.lead, kind="call", note="تماس ساعت ۸", by="01", at=two_hours_ago)
    assert _run(config_file, "daemon", "--once").returncode == 0  # the daemon sees the call in the log
    state = store.layout_of(cfg).state
    (state / "daemon.sqlite").unlink()  # and its own memory of the events is gone (a rebuilt state)
    # no daemon runs; much later the editor saves its stale copy: the call is gone from the file
    tmp = rec.folder / ".editor.tmp"
    tmp.write_bytes(stale)
    os.replace(tmp, rec.folder / LOG_NAME)
    assert [e for e in load_record(rec.folder).events if e["kind"] == "call"] == []
    assert _run(config_file, "daemon", "--once").returncode == 0
    after = load_record(rec.folder)
    assert [e.get("note") for e in after.events if e["kind"] == "call"] == ["تماس ساعت ۸"]
    assert "restored 1 event(s)" in after.events[-1].get("note", "")


def test_the_journal_of_a_record_stays_bounded(cfg: Config) -> None:
    state = store.layout_of(cfg).state
    events = [
        {"at": f"2026-01-01T10:{i // 60:02d}:{i % 60:02d}+03:30", "by": "01", "kind": "note", "note": f"n{i}"} for i in range(300)
    ]
    journal.record_events(state, "00001", events)
    present = {journal.event_key(ev) for ev in events[:250]}  # the first 250 were seen in the log
    journal.forget(state, "00001", present)
    kept = journal.entries(state, "00001")
    assert len(kept) == journal.MAX_ENTRIES
    assert [ev["note"] for ev, _seen in kept][-50:] == [f"n{i}" for i in range(250, 300)]  # never-seen ones all kept
    assert all(seen for _ev, seen in kept[:-50]) and not any(seen for _ev, seen in kept[-50:])
    lines = (state / "journal" / "00001.jsonl").read_text(encoding="utf-8").splitlines()
    assert all(json.loads(line)["event"] for line in lines)
    assert yaml.safe_load(json.loads(lines[0])["event"])["note"] == "n100"  # the oldest seen ones went first
