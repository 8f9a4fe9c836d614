"""Filing a batch of inbox files (issue 17: 2,000 files for 2,000 records filed ≤ 30 s): each log
read once, the batch one index transaction, the watch events of the daemon's own writes not taken
for someone's edits, and everything a person does meanwhile still seen. A real daemon (its worker
on this process's main thread, as `archivist daemon` runs it), real files, real watchdog events."""

from __future__ import annotations

import datetime
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import archivist.daemon.state as daemon_state
import archivist.record as record_module
from archivist import intents, journal, store, workflow
from archivist.config import Config
from archivist.daemon.edits import Baseline
from archivist.daemon.service import Daemon
from archivist.daemon.state import DaemonState
from archivist.index import Index, open_index
from archivist.record import LOG_NAME, load_record

from .conftest import make_archive
from .daemon_helpers import DAEMON_CONFIG, eventually

N = 6


@pytest.fixture
def dcfg(tmp_path: Path) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(DAEMON_CONFIG.format(policy="report"), encoding="utf-8")
    return make_archive(path)


def _records(cfg: Config, n: int) -> list[Path]:
    leads = [workflow.register(cfg, company=f"شرکت آزمون {i}", staff="01", by="01").lead for i in range(n)]
    return [store.locate(cfg, lead) for lead in leads]


def _with_daemon(cfg: Config, body: Callable[[Daemon], None]) -> None:
    """Run a real Daemon until `body` (on a helper thread, after the first pass) is done."""
    d = Daemon(cfg, stderr=False)
    failed: list[BaseException] = []

    def drive() -> None:
        try:
            eventually(
                lambda: (
                    d.feeder.state == "ok"
                    and d.last_reconcile
                    and not d._backlog_pending()
                    and d.feeder.pending() == 0
                    and not len(d.debouncer)
                ),
                timeout=30,
                what="the daemon's first pass",
            )
            body(d)
        except BaseException as e:  # noqa: BLE001 - raised again on the test's thread
            failed.append(e)
        finally:
            d.stop_event.set()
            d.wake.set()

    helper = threading.Thread(target=drive, daemon=True)
    helper.start()
    d.run()
    helper.join(timeout=30)
    if failed:
        raise failed[0]


def _indexed_files(cfg: Config, word: str) -> set[str]:
    idx = open_index(cfg, build_if_missing=False)
    try:
        return {r["lead"] for r in idx.search(word, limit=100)}
    finally:
        idx.close()


def _barrier(cfg: Config, folder: Path, name: str) -> None:
    """A change by someone else, after the daemon's own writes: once the index has it, every
    watch event before it has been handled (one inotify queue, handed out in order)."""
    (folder / f"{name}.pdf").write_bytes(b"barrier")
    lead = load_record(folder).lead
    eventually(lambda: lead in _indexed_files(cfg, name), timeout=30, what=f"{name} indexed")


def _stage(cfg: Config, folders: list[Path], tag: str) -> list[tuple[Path, str]]:
    stage = cfg.root / ".stage"
    stage.mkdir(exist_ok=True)
    staged = []
    for folder in folders:
        name = f"{load_record(folder).lead} {tag}.pdf"
        (stage / name).write_bytes(b"%PDF-1.4 " + name.encode())
        staged.append((folder, name))
    return staged


def _release(cfg: Config, staged: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """Into the inbox at once (renames)."""
    for _folder, name in staged:
        os.rename(cfg.root / ".stage" / name, cfg.root / "inbox" / name)
    return staged


def _drop(cfg: Config, folders: list[Path], tag: str) -> list[tuple[Path, str]]:
    return _release(cfg, _stage(cfg, folders, tag))


def _all_filed(cfg: Config, dropped: list[tuple[Path, str]]) -> bool:
    return all((folder / name).exists() for folder, name in dropped) and not any(
        (cfg.root / "inbox" / name).exists() for _f, name in dropped
    )


def test_a_filing_batch_reads_each_log_once_and_its_own_writes_are_not_read_again(
    dcfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = _records(dcfg, N + 1)
    targets, other = folders[:N], folders[N]
    parsed: list[str] = []
    stored_parsed: list[str] = []
    real_parse, real_stored = record_module.parse_record, daemon_state.safe_load_log

    def counting_parse(raw: bytes, path: Any, *a: Any, **kw: Any) -> Any:
        parsed.append(str(path))
        return real_parse(raw, path, *a, **kw)

    def counting_stored(text: str) -> Any:
        stored_parsed.append(text[:20])
        return real_stored(text)

    def body(d: Daemon) -> None:
        staged = _stage(dcfg, targets, "quote")
        monkeypatch.setattr(record_module, "parse_record", counting_parse)
        monkeypatch.setattr(daemon_state, "safe_load_log", counting_stored)
        dropped = _release(dcfg, staged)
        eventually(lambda: _all_filed(dcfg, dropped), timeout=30, what="every file filed")
        _barrier(dcfg, other, "barrier-one")
        monkeypatch.setattr(record_module, "parse_record", real_parse)
        monkeypatch.setattr(daemon_state, "safe_load_log", real_stored)
        filed_logs = [p for p in parsed if Path(p).parent in targets]
        # one read a record: to find its code and check it can take the event; the log the daemon
        # then wrote is neither parsed to look at it nor when its watch events come back
        assert len(filed_logs) == N, filed_logs
        assert stored_parsed == []  # events only appended: the stored events text is not parsed
        for folder, name in dropped:
            events = [e for e in load_record(folder).events if e["kind"] == "filed"]
            assert [e["note"] for e in events] == [name]
        # the daemon's own writes are indexed all the same
        assert _indexed_files(dcfg, "quote") == {load_record(f).lead for f in targets}

    _with_daemon(dcfg, body)


def test_a_filing_batch_is_one_index_transaction(dcfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    folders = _records(dcfg, N + 1)
    targets, other = folders[:N], folders[N]
    writes: list[str] = []
    for name in ("refresh", "remove", "set_violations", "update"):
        real = getattr(Index, name, None)
        if real is None:
            continue

        def counted(self: Index, *a: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
            writes.append(_name)  # each of these is one write transaction of the index
            return _real(self, *a, **kw)

        monkeypatch.setattr(Index, name, counted)
    rounds: list[int] = []
    real_file = Daemon._file

    def filing(self: Daemon, paths: list[Path]) -> None:
        rounds.append(len(paths))  # files that settled together (usually all of them at once)
        real_file(self, paths)

    monkeypatch.setattr(Daemon, "_file", filing)

    def body(d: Daemon) -> None:
        writes.clear()
        dropped = _drop(dcfg, targets, "invoice")
        eventually(lambda: _all_filed(dcfg, dropped), timeout=30, what="every file filed")
        _barrier(dcfg, other, "barrier-two")
        # one for each group of files that settled together (its logs, files and naming checks),
        # one for the barrier's refresh; never one a record
        assert sum(rounds) == N and len(writes) <= len(rounds) + 1, (rounds, writes)
        assert _indexed_files(dcfg, "invoice") == {load_record(f).lead for f in targets}

    _with_daemon(dcfg, body)


def test_a_hand_edit_and_a_file_put_in_a_sub_folder_right_after_filing_are_still_seen(dcfg: Config) -> None:
    folders = _records(dcfg, 2)
    folder = folders[0]

    def body(d: Daemon) -> None:
        dropped = _drop(dcfg, [folder], "scan")
        eventually(lambda: _all_filed(dcfg, dropped), timeout=30, what="the file filed")
        # an editor's save (temp file, rename) of a changed company, and a file in a sub-folder
        data = yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))
        data["company"] = "شرکت ویرایش‌شده"
        tmp = folder / ".editor-save.tmp"
        tmp.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        os.rename(tmp, folder / LOG_NAME)
        (folder / "letters").mkdir()
        (folder / "letters" / "subfolderword.pdf").write_bytes(b"x")
        eventually(
            lambda: any(e["kind"] == "edited" and "company" in e.get("fields", []) for e in load_record(folder).events),
            timeout=30,
            what="the hand edit's edited event",
        )
        lead = load_record(folder).lead
        eventually(lambda: lead in _indexed_files(dcfg, "subfolderword"), timeout=30, what="the sub-folder file indexed")

    _with_daemon(dcfg, body)


def test_a_killed_filing_batch_is_finished_for_every_record_it_names(dcfg: Config) -> None:
    """One intent covers a batch; an intent written by the old one-record form is finished too."""
    folders = _records(dcfg, 3)
    inbox = dcfg.root / "inbox"
    when = datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    def item(folder: Path, name: str) -> dict[str, Any]:
        (inbox / name).write_bytes(b"doc")
        event = journal.event_text({"at": when, "by": "archivist", "kind": "filed", "note": name})
        return {"src": str(inbox / name), "dst": name, "event": event}

    leads = [load_record(f).lead for f in folders]
    batch = {
        "pid": 999_999_999,  # a run that is gone
        "folders": [{"folder": str(f), "items": [item(f, f"{lead} a.pdf")]} for f, lead in zip(folders[:2], leads, strict=False)],
    }
    old = {"pid": 999_999_999, "folder": str(folders[2]), "items": [item(folders[2], f"{leads[2]} b.pdf")]}
    d = dcfg.root / ".archivist" / "intents"
    d.mkdir(parents=True, exist_ok=True)
    (d / "filing-batch.json").write_text(json.dumps({"kind": "filing", **batch}), encoding="utf-8")
    (d / "filing-old.json").write_text(json.dumps({"kind": "filing", **old}), encoding="utf-8")
    said = intents.finish_all(dcfg)
    assert len(said) == 2 and intents.pending(dcfg) == []
    for folder, name in [(folders[0], f"{leads[0]} a.pdf"), (folders[1], f"{leads[1]} a.pdf"), (folders[2], f"{leads[2]} b.pdf")]:
        assert (folder / name).read_bytes() == b"doc" and not (inbox / name).exists()
        assert [e["note"] for e in load_record(folder).events if e["kind"] == "filed"] == [name]


def test_appended_events_are_stored_as_the_whole_list_would_be(tmp_path: Path) -> None:
    state = DaemonState(tmp_path / "daemon.sqlite")
    tz = datetime.timezone(datetime.timedelta(hours=3, minutes=30))
    first = [
        {"at": datetime.datetime(2026, 1, i + 1, 9, tzinfo=tz), "by": "01", "kind": "note", "note": f"یک\n- دو {i}"}
        for i in range(3)
    ]
    more = [{"at": datetime.datetime(2026, 2, 1, tzinfo=tz), "by": "archivist", "kind": "filed", "note": "00001 a.pdf"}]
    state.put_baseline("00001", Baseline(3, "h", {}), tmp_path)
    state.put_events("00001", first)
    assert state.add_events("00001", 3, more)
    assert state.events("00001") == first + more
    assert not state.add_events("00001", 3, more)  # the text holds 4 now: the caller stores the whole list
    state.put_events("00002", [])
    assert not state.add_events("00002", 0, more)
    state.close()


def test_a_file_that_cannot_be_moved_in_is_noted_on_the_log_and_left_in_the_inbox(
    cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `filed` events are written before the files move; a move that fails after that (a clash
    raced in, the file vanished) leaves the file in the inbox and adds a note saying so, written
    on the log just saved: both events and the note are there, and nothing else is lost."""
    from archivist import inbox

    lead = workflow.register(cfg, company="شرکت انتقال ناتمام", staff="01", by="01").lead
    drop = store.layout_of(cfg).inbox
    kept, stuck = drop / f"{lead} contract.pdf", drop / f"{lead} invoice.pdf"
    for p in (kept, stuck):
        p.write_bytes(b"%PDF-1.4\n")
    real_move = store.move

    def move(src: Path, dst: Path, sync: bool = True) -> None:
        if src.name == stuck.name:
            raise OSError(5, "Input/output error")
        real_move(src, dst, sync=sync)

    monkeypatch.setattr(store, "move", move)
    result = inbox.file_paths(cfg, [kept, stuck])
    assert [src.name for src, _dst in result.filed] == [kept.name] and result.left == [stuck] and stuck.exists()
    folder = next(iter(result.records))
    events = load_record(folder).events
    assert [e["kind"] for e in events[-3:]] == ["filed", "filed", "note"]
    assert "not filed after all" in events[-1]["note"] and stuck.name in events[-1]["note"]
    assert (folder / kept.name).exists() and not (folder / stuck.name).exists()
