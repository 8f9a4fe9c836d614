"""Hand edits racing archivist's own writes (issue 13): no confirmed event is ever lost and no
hand edit is overwritten. Real processes, real files, a real daemon; waits for states, not time."""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from archivist import workflow
from archivist.record import LOG_NAME, dump_yaml, load_record
from tests.daemon_helpers import Archive, eventually


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    a = Archive(tmp_path, policy="report")
    yield a
    a.stop_all()


def _editor_save(log: Path, text: str) -> None:
    """What an editor does on save: write a temp file beside the log, rename it over."""
    tmp = log.with_name(f".{LOG_NAME}.swp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, log)


def _stale_edit(text: str, person: str) -> str:
    data = yaml.safe_load(text)
    data["contact"]["person"] = person
    return dump_yaml(data).decode("utf-8")


def test_event_dropped_by_a_stale_editor_save_is_restored_from_the_journal(archive: Archive) -> None:
    lead = archive.register("شرکت ویرایش همزمان")
    folder = archive.folder_of(lead)
    archive.run("daemon", "--once")  # the daemon knows the record as registered
    log = folder / LOG_NAME
    stale = log.read_text(encoding="utf-8")  # the editor opens the file …
    archive.run("log", lead, "--kind", "call", "--note", "تماس تأییدشده")  # … `log` confirms an event …
    _editor_save(log, _stale_edit(stale, "آقای محمدی"))  # … and the editor saves its old copy
    assert [e["kind"] for e in load_record(folder).events] == ["registered"]  # the event is gone from the file

    archive.run("daemon", "--once")
    rec = load_record(folder)
    assert [e["kind"] for e in rec.events] == ["registered", "call", "edited"]
    assert rec.events[1]["note"] == "تماس تأییدشده"
    assert rec.contact["person"] == "آقای محمدی"  # the hand edit is kept too
    assert "restored 1 event" in rec.events[2]["note"] and "contact.person" in rec.events[2]["fields"]
    archive.run("daemon", "--once")  # nothing more to say: no second `edited` event
    assert [e["kind"] for e in load_record(folder).events] == ["registered", "call", "edited"]


def test_event_the_daemon_saw_is_restored_even_without_the_journal(archive: Archive) -> None:
    lead = archive.register("شرکت حافظه دیمن")
    folder = archive.folder_of(lead)
    log = folder / LOG_NAME
    stale = log.read_text(encoding="utf-8")
    archive.run("log", lead, "--kind", "note", "--note", "یادداشت اول")
    archive.run("daemon", "--once")  # the daemon saw the note …
    shutil.rmtree(archive.root / ".archivist" / "journal")  # … and its journal is gone
    _editor_save(log, stale)  # a stale save drops the note
    archive.run("daemon", "--once")
    rec = load_record(folder)
    assert [e["kind"] for e in rec.events] == ["registered", "note", "edited"]
    assert rec.events[1]["note"] == "یادداشت اول"


def test_stale_save_racing_two_log_loops_with_the_daemon_running_loses_nothing(archive: Archive) -> None:
    """The issue's race, shortened: an editor-style save (read, wait, write temp, rename) racing
    two `log` loops with the daemon on. Every event `log` confirmed is in the log at the end, and
    every hand edit is either in the file or followed by a later one."""
    lead = archive.register("شرکت مسابقه ویرایش")
    folder = archive.folder_of(lead)
    log = folder / LOG_NAME
    archive.start()
    confirmed: list[str] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def logger(who: str) -> None:
        try:
            for i in range(12):
                note = f"{who}-{i}"
                workflow.log_event(archive.cfg, lead, kind="note", note=note, by="01")
                confirmed.append(note)
        except BaseException as e:  # noqa: BLE001 - reported by the test below
            errors.append(e)

    edits: list[str] = []

    def editor() -> None:
        rnd = random.Random(5)
        n = 0
        while not done.is_set():
            try:
                text = log.read_text(encoding="utf-8")
                time.sleep(rnd.uniform(0.02, 0.2))  # the person types
                n += 1
                person = f"edit-{n}"
                _editor_save(log, _stale_edit(text, person))
                edits.append(person)
            except (FileNotFoundError, yaml.YAMLError, TypeError, KeyError):
                pass

    threads = [threading.Thread(target=logger, args=(w,)) for w in ("a", "b")]
    ed = threading.Thread(target=editor)
    ed.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    done.set()
    ed.join(timeout=30)
    assert not errors, errors
    assert len(confirmed) == 24 and edits

    def all_back() -> bool:
        notes = [e.get("note") for e in load_record(folder).events]
        return all(n in notes for n in confirmed)

    eventually(all_back, timeout=60, what="every confirmed event back in the log")
    archive.wait_idle()
    rec = load_record(folder)
    notes = [e.get("note") for e in rec.events if e["kind"] == "note"]
    assert sorted(notes) == sorted(confirmed)  # each exactly once
    assert rec.contact["person"] == edits[-1]  # the last hand edit stands
    ats = [e["at"] for e in rec.events]
    assert ats == sorted(ats)  # restored events are put back in date order
