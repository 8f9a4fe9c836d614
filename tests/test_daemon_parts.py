"""The daemon's parts in-process, on real files: settling, hand-edit detection, routing, schedules."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from archivist import store, workflow
from archivist.config import Config
from archivist.daemon import inbox, running, status
from archivist.daemon.edits import baseline_of, changed_fields, describe, hand_edits
from archivist.daemon.schedule import load_schedule, render_review, review_due
from archivist.daemon.service import Daemon, Scheduler
from archivist.daemon.settle import Settler
from archivist.daemon.watcher import ArchiveEvents, Debouncer, mount_type, use_polling
from archivist.record import LOG_NAME, load_record
from tests.daemon_helpers import Clock

TEHRAN = ZoneInfo("Asia/Tehran")


# -- settling --------------------------------------------------------------------------------------


def test_a_growing_file_does_not_settle_until_it_stops_changing(tmp_path: Path) -> None:
    clock = Clock()
    s = Settler(1.0, clock)
    f = tmp_path / "2031 scan.pdf"
    f.write_bytes(b"a")
    s.touch(f)
    clock.t += 0.6
    with open(f, "ab") as h:
        h.write(b"more")
    assert s.ready() == []
    clock.t += 0.9
    assert s.ready() == [], "0.9 s after the last change is not yet settled"
    clock.t += 0.2
    assert s.ready() == [f]
    assert s.ready() == [], "handed out once"


def test_a_close_after_write_does_not_shorten_the_settle_time(tmp_path: Path) -> None:
    # issue 13 changed this: a close used to settle a file after 0.2 s, which split a writer that
    # reopens the file to append into `(2)`, `(3)`… documents
    clock = Clock()
    s = Settler(5.0, clock)
    f = tmp_path / "2031 photo.jpg"
    f.write_bytes(b"jpeg")
    s.touch(f)
    s.touch(f, closed=True)
    assert s.ready() == []
    clock.t += 0.25
    assert s.ready() == []
    clock.t += 5
    assert s.ready() == [f]


def test_download_in_progress_names_never_settle(tmp_path: Path) -> None:
    clock = Clock()
    s = Settler(0.0, clock)
    for name in ("2031 contract.pdf.part", "2031 x.crdownload", ".2031 hidden.pdf", "~$2031 report.docx"):
        (tmp_path / name).write_bytes(b"x")
        s.touch(tmp_path / name)
    clock.t += 10
    assert s.ready() == []


def test_a_file_removed_before_settling_is_forgotten(tmp_path: Path) -> None:
    clock = Clock()
    s = Settler(1.0, clock)
    f = tmp_path / "2031 a.pdf"
    f.write_bytes(b"x")
    s.touch(f)
    f.unlink()
    clock.t += 5
    assert s.ready() == [] and len(s) == 0


# -- hand edits --------------------------------------------------------------------------------------


def _applicant(cfg: Config) -> Path:
    lead = workflow.register(cfg, company="شرکت نمونه پارس", staff="01", by="01").lead
    return store.locate(cfg, lead)


def test_field_changed_by_hand_is_named_one_level_deep(cfg: Config) -> None:
    folder = _applicant(cfg)
    before = baseline_of(load_record(folder))
    data = yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))
    data["company"] = "شركت نمونه پارس"  # Arabic kaf typed by hand
    data["contact"]["email"] = "info@pars.ir"
    (folder / LOG_NAME).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert hand_edits(before, load_record(folder)) == ["company", "contact.email"]


def test_the_edited_note_shows_persian_text_as_typed(cfg: Config) -> None:
    folder = _applicant(cfg)
    before = baseline_of(load_record(folder))
    data = yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))
    data["company"] = "شرکت نمونه\u200cپارس"  # a zero-width non-joiner, as Persian keyboards type
    (folder / LOG_NAME).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    note = describe(before, load_record(folder), ["company"])
    assert "نمونه\u200cپارس" in note and "\\u200c" not in note
    assert note.startswith("changed by hand: company: “شرکت نمونه پارس” → ")


def test_changes_that_come_with_appended_events_are_actions_not_hand_edits(cfg: Config) -> None:
    folder = _applicant(cfg)
    rec = load_record(folder)
    before = baseline_of(rec)
    workflow.log_event(cfg, rec.lead, kind="call", note="تماس اول", by="01")
    workflow.decline(cfg, rec.lead, by="01")
    assert hand_edits(before, load_record(folder)) == []


def test_no_action_of_the_whole_procedure_looks_like_a_hand_edit(cfg: Config) -> None:
    folder = _applicant(cfg)
    lead = load_record(folder).lead
    steps = [
        lambda: workflow.log_event(cfg, lead, kind="call", note="تماس", by="01"),
        lambda: workflow.log_event(cfg, lead, kind="request", note="ISO 9001", by="01"),
        lambda: workflow.set_followup(cfg, lead, when=datetime(2026, 12, 1, 10, tzinfo=ZoneInfo("Asia/Tehran")), by="01"),
        lambda: workflow.convert(cfg, lead, service="ISO certification", by="01"),
        lambda: workflow.sign_contract(cfg, lead, by="01"),
        lambda: workflow.add_invoice(cfg, lead, by="01", amount=1000),
        lambda: workflow.record_service(cfg, lead, note="audit", by="01"),
        lambda: workflow.log_event(cfg, lead, kind="qc", note="ok", by="01"),
        lambda: workflow.clear(cfg, lead, by="01"),
        lambda: workflow.crm(cfg, lead, by="01"),
        lambda: workflow.archive(cfg, lead, by="01"),
        lambda: workflow.reopen(cfg, lead, by="01"),
    ]
    for step in steps:
        rec = load_record(store.locate(cfg, lead))
        before = baseline_of(rec)
        after = step()
        assert hand_edits(before, load_record(after.folder)) == [], after.events[-1]["kind"]


def test_a_hand_edit_followed_by_an_action_before_the_daemon_looked_is_still_caught(cfg: Config) -> None:
    folder = _applicant(cfg)
    before = baseline_of(load_record(folder))
    text = (folder / LOG_NAME).read_text(encoding="utf-8").replace("staff: '01'", "staff: '02'")
    (folder / LOG_NAME).write_text(text, encoding="utf-8")
    rec = workflow.log_event(cfg, before.fields["lead"], kind="call", note="تماس", by="01")
    assert hand_edits(before, load_record(rec.folder)) == ["staff"]


def test_the_daemons_own_edited_event_does_not_look_like_another_edit(cfg: Config) -> None:
    folder = _applicant(cfg)
    before = baseline_of(load_record(folder))
    text = (folder / LOG_NAME).read_text(encoding="utf-8").replace("staff: '01'", "staff: '02'")
    (folder / LOG_NAME).write_text(text, encoding="utf-8")
    edited = load_record(folder)
    assert hand_edits(before, edited) == ["staff"]
    after = baseline_of(edited)
    workflow.append_event(cfg, folder, "edited", "archivist", "changed by hand: staff", fields=["staff"])
    assert hand_edits(after, load_record(folder)) == []


def test_events_rewritten_by_hand_do_not_hide_a_field_edit(cfg: Config) -> None:
    folder = _applicant(cfg)
    before = baseline_of(load_record(folder))
    data = yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))
    data["events"][0]["note"] = "rewritten"
    data["events"].append(dict(data["events"][0]))
    data["status"] = "following"
    (folder / LOG_NAME).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert hand_edits(before, load_record(folder)) == ["status", "events"]


def test_an_event_deleted_by_hand_is_named_in_the_edited_note(cfg: Config) -> None:
    folder = _applicant(cfg)
    workflow.log_event(cfg, load_record(folder).lead, kind="call", note="تماس اول", by="01")
    rec = load_record(folder)
    before = baseline_of(rec)
    data = yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))
    del data["events"][-1]
    (folder / LOG_NAME).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    after = load_record(folder)
    assert hand_edits(before, after) == ["events"]
    assert f"({len(rec.events)} before, {len(rec.events) - 1} now)" in describe(before, after, ["events"])


def test_changed_fields_lists_added_and_removed_keys() -> None:
    assert changed_fields({"a": 1, "b": {"x": 1}}, {"a": 1, "b": {"x": 2, "y": 3}, "c": 4}) == ["b.x", "b.y", "c"]


# -- routing and debounce ----------------------------------------------------------------------------------


def test_events_are_routed_to_record_folders_and_inbox_files(tmp_path: Path) -> None:
    folders: list[Path] = []
    files: list[tuple[Path, bool]] = []
    areas: list[str] = []
    h = ArchiveEvents(tmp_path, folders.append, lambda p, c, _wrote=False: files.append((p, c)), areas.append)
    from watchdog.events import DirCreatedEvent, DirModifiedEvent, DirMovedEvent, FileClosedEvent, FileModifiedEvent

    h.dispatch(FileModifiedEvent(str(tmp_path / "customers" / "2031" / LOG_NAME)))
    h.dispatch(FileModifiedEvent(str(tmp_path / "archive" / "applicants" / "A - 01 - 00001" / "sub" / "x.pdf")))
    h.dispatch(
        DirMovedEvent(
            str(tmp_path / "applicants" / "B - 01 - 00002"), str(tmp_path / "archive" / "applicants" / "B - 01 - 00002")
        )
    )
    h.dispatch(FileClosedEvent(str(tmp_path / "inbox" / "2031 a.pdf")))
    h.dispatch(FileModifiedEvent(str(tmp_path / ".archivist" / "index.sqlite")))
    h.dispatch(FileModifiedEvent(str(tmp_path / "customers" / ".hidden")))
    h.dispatch(DirMovedEvent(str(tmp_path / "customers"), str(tmp_path / "customers-old")))
    h.dispatch(DirModifiedEvent(str(tmp_path / "applicants")))  # a folder added inside: not an area change
    h.dispatch(DirCreatedEvent(str(tmp_path / "archive")))
    h.dispatch(FileModifiedEvent(str(tmp_path / "archive" / "notes" / "x.txt")))
    assert folders == [
        tmp_path / "customers" / "2031",
        tmp_path / "archive" / "applicants" / "A - 01 - 00001",
        tmp_path / "applicants" / "B - 01 - 00002",
        tmp_path / "archive" / "applicants" / "B - 01 - 00002",
    ]
    assert files == [(tmp_path / "inbox" / "2031 a.pdf", True)]
    assert areas == ["customers", "archive"]


def test_debouncer_hands_out_a_busy_folder_once_after_it_goes_quiet() -> None:
    d = Debouncer(0.3)
    for t in (0.0, 0.1, 0.2, 0.35):
        d.touch("customers/2031", now=t)
    assert d.take(now=0.6) == []
    assert d.take(now=0.65) == ["customers/2031"]
    assert d.take(now=5.0) == []


def test_polling_setting_on_and_off_and_auto_from_the_mount_type(cfg: Config) -> None:
    from dataclasses import replace

    assert use_polling(replace(cfg, daemon=replace(cfg.daemon, polling="on")))[0] is True
    assert use_polling(replace(cfg, daemon=replace(cfg.daemon, polling="off")))[0] is False
    fstype = mount_type(cfg.root)
    assert fstype  # every path is on some mount
    assert use_polling(cfg)[0] is (fstype in ("nfs", "nfs4", "cifs", "vfat", "exfat", "fuseblk") or fstype.startswith("fuse."))


# -- inbox ---------------------------------------------------------------------------------------------------


def test_unfiled_lists_files_without_a_known_code(cfg: Config) -> None:
    folder = _applicant(cfg)
    lead = load_record(folder).lead
    box = cfg.root / "inbox"
    box.mkdir(exist_ok=True)
    for name in (f"{lead} quote.pdf", "نامه بدون کد.pdf", "99999 nobody.pdf", f"{lead}0 too long.pdf", ".hidden"):
        (box / name).write_bytes(b"x")
    (box / f"{lead} folder").mkdir()
    assert [p.name for p in inbox.unfiled(cfg)] == sorted(
        ["99999 nobody.pdf", f"{lead} folder", f"{lead}0 too long.pdf", "نامه بدون کد.pdf"]
    )


# -- schedules and status without a daemon ---------------------------------------------------------------------


def test_review_is_due_once_a_day_after_review_time(cfg: Config) -> None:
    morning = datetime(2026, 11, 23, 6, 59, tzinfo=TEHRAN)
    later = datetime(2026, 11, 23, 7, 0, tzinfo=TEHRAN)
    assert not review_due(cfg, morning, {})
    assert review_due(cfg, later, {})
    assert not review_due(cfg, later, {"review": "2026-11-23"})
    assert review_due(cfg, later, {"review": "2026-11-20"}), "a day missed while the daemon was down"


def test_review_text_has_a_section_per_staff_member(cfg: Config) -> None:
    now = datetime(2026, 11, 23, 7, 0, tzinfo=TEHRAN)
    item = {
        "lead": "00417",
        "case": None,
        "company": "شرکت نمونه پارس",
        "status": "following",
        "next_followup": "2026-11-22T10:00:00+03:30",
    }
    text = render_review(cfg, now, {"01": {"overdue": [item], "today": [], "stuck": []}})
    assert "== 01 مریم احمدی ==" in text and "== 07 سارا ==" in text
    assert "Overdue follow-ups (1):" in text and "00417  شرکت نمونه پارس  [following]" in text
    assert "1405" in text  # Jalali dates


def test_the_review_file_is_streamed_line_for_line_as_the_lists_render(cfg: Config) -> None:
    """The daemon writes the review as the index hands rows over; the file says exactly what
    rendering the complete `due` lists says."""
    from archivist.daemon.schedule import write_review
    from archivist.index import open_index
    from bench.generate import generate

    now = datetime(2026, 11, 23, 12, 0, tzinfo=TEHRAN)
    generate(cfg, 60, seed=4, now=now)
    from archivist.office import health, office_status

    with open_index(cfg) as idx:
        whole = {staff: idx.due(staff=staff, now=now) for staff in cfg.staff}
        path = write_review(cfg, now, idx)
    assert sum(len(v) for due in whole.values() for v in due.values()) > 10
    assert path.read_text(encoding="utf-8") == render_review(cfg, now, whole, health(cfg, office_status(cfg)))
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_missed_review_is_written_at_the_next_start(cfg: Config) -> None:
    import threading

    from archivist.index import open_index

    _applicant(cfg)
    open_index(cfg).close()

    Scheduler(cfg, threading.Event()).tick(datetime(2026, 11, 23, 9, 30, tzinfo=TEHRAN))
    path = cfg.root / ".archivist" / "review" / "2026-11-23.txt"
    assert path.exists() and "== 01" in path.read_text(encoding="utf-8")
    assert load_schedule(cfg)["review"] == "2026-11-23"


def test_status_without_a_daemon_still_counts_records_and_unfiled(cfg: Config) -> None:
    _applicant(cfg)
    (cfg.root / "inbox").mkdir(exist_ok=True)
    (cfg.root / "inbox" / "بدون کد.pdf").write_bytes(b"x")
    st = status(cfg)
    assert running(cfg) is None
    assert st["running"] is False and st["pid"] is None and st["pending_events"] is None
    assert st["records"] == 1 and st["unfiled"] == 1 and st["unfiled_files"] == ["بدون کد.pdf"]
    assert "last_backup" in st and "next_backup" in st


def test_once_pass_in_process_works_with_the_index_missing(cfg: Config, monkeypatch: object) -> None:
    folder = _applicant(cfg)
    lead = load_record(folder).lead
    (cfg.root / "inbox").mkdir(exist_ok=True)
    f = cfg.root / "inbox" / f"{lead} quote.pdf"
    f.write_bytes(b"quote")
    os.utime(f, (0, 0))
    broken = cfg.root / ".archivist" / "index.sqlite"
    broken.parent.mkdir(exist_ok=True)
    broken.mkdir()  # an index path that cannot be a database: the pass must not care
    assert Daemon(cfg, once=True, stderr=False).run() == 0
    assert (folder / f"{lead} quote.pdf").read_bytes() == b"quote"
    assert [e["kind"] for e in load_record(folder).events][-1] == "filed"


def test_inotify_overflow_reported_by_watchdog_asks_for_a_reconcile(cfg: Config) -> None:
    import logging

    from archivist.daemon.watcher import WatchdogAlarm

    d = Daemon(cfg, stderr=False)
    alarm = WatchdogAlarm(d._on_watchdog_alarm)
    logging.getLogger("watchdog").addHandler(alarm)
    try:
        logging.getLogger("watchdog.observers.inotify_c").warning("Inotify queue overflowed; filesystem events were lost")
    finally:
        logging.getLogger("watchdog").removeHandler(alarm)
    assert d.reconcile_reason and "overflow" in d.reconcile_reason
    assert d.degraded is False


def test_status_text_shows_jalali_dates_and_says_how_to_ready_the_drive(cli, cfg: Config) -> None:
    _applicant(cfg)
    code, out, _ = cli("status")
    assert code == 0 and "daemon: not running" in out
    # a new install has no drive: say that and the one command, not "never (OVERDUE)" and a past
    # "next backup" date (issue 16)
    assert "no backup drive is set up yet" in out and "archivist backup init-target PATH" in out
    assert "OVERDUE" not in out and not re.search(r"\d{4}-\d\d-\d\dT", out), out  # no ISO timestamps
