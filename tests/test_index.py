"""The index is derived and disposable: rebuilt from the folders it answers exactly as before.

Real archives in tmp_path (generated records plus workflow actions through the CLI), real SQLite.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from archivist.config import Config
from archivist.errors import InvalidLogError
from archivist.index import open_index, schema
from archivist.index.hook import close_all
from archivist.record import LOG_NAME, dump_yaml, load_record
from bench.generate import generate
from tests.yaml_compare import same_value

NOW = "2026-11-23T10:00:00+03:30"


@pytest.fixture
def archive(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("ARCHIVIST_NOW", NOW)
    generate(cfg, 80, seed=11, now=datetime.fromisoformat(NOW))
    yield cfg
    close_all()


def _outputs(cli, tmp_path: Path, name: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for q in ("پارس", "شركت", "کیمیا", "0912", "تماس", "1001", "۰۰۰۰۷", "certificate", "Pars"):
        code, text, _ = cli("search", q, "--json", "--limit", "20")
        assert code == 0
        out[f"search {q}"] = text.encode()
    code, text, _ = cli("due", "--json")
    assert code == 0
    out["due"] = text.encode()
    for staff in ("01", "07"):
        out[f"due {staff}"] = cli("due", "--staff", staff, "--json")[1].encode()
    out["list"] = cli("list", "--json")[1].encode()
    csv_path = tmp_path / f"{name}.csv"
    assert cli("export", "--format", "csv", "-o", str(csv_path))[0] == 0
    out["csv"] = csv_path.read_bytes()
    return out


def test_reindex_after_deleting_state_gives_identical_output(archive: Config, cli, tmp_path: Path) -> None:
    # build the index, then change records through the CLI so the index is updated incrementally
    assert cli("reindex")[0] == 0
    lead = json.loads(cli("search", "00005", "--json")[1])[0]["lead"]
    assert cli("register", "--company", "شرکت آوای فرادید", "--staff", "07", "--mobile", "۰۹۱۲۰۰۰۱۱۲۲")[0] == 0
    assert cli("log", "00081", "--kind", "call", "--note", "تماس اول")[0] == 0
    assert cli("convert", "00081", "--service", "2")[0] == 0
    status = json.loads(cli("search", lead, "--json")[1])[0]["status"]
    if status in ("new", "following"):
        assert cli("decline", lead)[0] == 0
    before = _outputs(cli, tmp_path, "before")
    assert json.loads(before["search 0912"])  # the outputs are not trivially empty
    assert json.loads(before["due"])["overdue"]

    shutil.rmtree(archive.root / ".archivist")
    code, out, _ = cli("reindex")
    assert code == 0 and "indexed 81 records" in out
    after = _outputs(cli, tmp_path, "after")
    assert after == before


def test_every_command_rebuilds_a_missing_index_with_a_message(archive: Config, cli, tmp_path: Path) -> None:
    for args in (("search", "پارس"), ("due",), ("export", "--format", "csv", "-o", str(tmp_path / "x.csv"))):
        shutil.rmtree(archive.root / ".archivist", ignore_errors=True)
        code, _out, err = cli(*args)
        assert code == 0
        assert "no index yet; building it" in err
        assert archive.index_file.exists()


def test_old_schema_or_corrupt_index_is_rebuilt_not_trusted(archive: Config, capsys: pytest.CaptureFixture[str]) -> None:
    open_index(archive).close()
    db = sqlite3.connect(archive.index_file)
    db.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    db.execute("DELETE FROM records")
    db.commit()
    db.close()
    with open_index(archive) as idx:
        assert idx.stats()["records"] == 80
    assert "another version" in capsys.readouterr().err

    schema.remove_files(archive.index_file)
    archive.index_file.write_bytes(b"this is not a database" * 100)
    with open_index(archive) as idx:
        assert idx.search("پارس")
    assert "unreadable" in capsys.readouterr().err


def test_reindex_of_an_old_schema_index_reads_the_folders_once(
    archive: Config, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade `archivist reindex` used to build the index twice: once when opening found
    the old schema, then again as asked (2 × ~1.5 min at 100,000 records)."""
    import archivist.index as index_mod

    open_index(archive).close()
    db = sqlite3.connect(archive.index_file)
    db.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    builds: list[str] = []
    cold, rebuild = index_mod.cold_build, index_mod.Index.rebuild
    monkeypatch.setattr(index_mod, "cold_build", lambda *a, **k: builds.append("cold") or cold(*a, **k))
    monkeypatch.setattr(index_mod.Index, "rebuild", lambda self, *a, **k: builds.append("rebuild") or rebuild(self, *a, **k))
    done = index_mod.reindex(archive)
    assert builds == ["cold"] and done["records"] == 80
    assert "another version" in capsys.readouterr().err
    with open_index(archive) as idx:
        assert idx.stats()["records"] == 80 and idx.search("پارس")
    builds.clear()
    index_mod.reindex(archive)  # a current index is still rebuilt when asked
    assert builds == ["rebuild"]


def test_hand_edit_then_refresh_updates_search(archive: Config) -> None:
    with open_index(archive) as idx:
        hit = idx.search("00012")[0]
        folder = Path(hit["path"])
        log = folder / LOG_NAME
        text = log.read_text(encoding="utf-8")
        old_company = hit["company"]
        log.write_text(text.replace(f"company: {old_company}", "company: شرکت هامون‌سازان کویر", 1), encoding="utf-8")
        assert idx.search("هامونسازان") == []  # not yet: nothing told the index
        assert idx.refresh([folder]) == 1
        found = idx.search("هامونسازان")
        assert [h["lead"] for h in found] == ["00012"] and found[0]["matched"] == "company"
        assert "00012" not in [
            h["lead"] for h in idx.search(old_company, limit=200) if h["matched"] == "company" and h["company"] == old_company
        ]
        assert idx.refresh([folder]) == 0  # unchanged now: not read again


def test_malformed_log_is_a_violation_and_last_good_entry_stays_findable(archive: Config) -> None:
    with open_index(archive) as idx:
        hit = idx.search("00020")[0]
        folder = Path(hit["path"])
        log = folder / LOG_NAME
        good = log.read_text(encoding="utf-8")
        log.write_text(good.replace("\nstaff:", "\n  staff:", 1), encoding="utf-8")
        idx.refresh([folder])
        found = idx.search(hit["company"], limit=200)
        mine = [h for h in found if h["lead"] == "00020"]
        assert mine and mine[0]["stale"] is True and mine[0]["status"] == hit["status"]
        assert idx.search("00020")[0]["stale"] is True
        bad = [v for v in idx.violations() if v["rule"] == "invalid-log"]
        assert len(bad) == 1 and bad[0]["path"] == str(log) and "line" in bad[0]["message"]
        assert idx.stats()["stale"] == 1
        assert log.read_text(encoding="utf-8") != good  # never "repaired" behind the user's back

        log.write_text(good, encoding="utf-8")
        idx.refresh([folder])
        assert idx.search("00020")[0]["stale"] is False
        assert not [v for v in idx.violations() if v["rule"] == "invalid-log"]


def test_a_control_character_pasted_into_a_note_makes_the_log_invalid_in_the_index_too(archive: Config) -> None:
    """yaml.safe_load refuses a bell or an NEL; the index's fast reader must not call that log valid."""
    with open_index(archive) as idx:
        folder = Path(idx.search("00021")[0]["path"])
        log = folder / LOG_NAME
        log.write_text(log.read_text(encoding="utf-8") + "extra: pasted\x07 from a terminal\n", encoding="utf-8")
        with pytest.raises(InvalidLogError):
            load_record(folder)  # what `show`, `log` and the TUI's record screen see
        idx.refresh([folder])
        assert idx.search("00021")[0]["stale"] is True
        assert [v["path"] for v in idx.violations() if v["rule"] == "invalid-log"] == [str(log)]


def test_a_log_broken_before_it_was_ever_indexed_is_found_by_its_folder_name(archive: Config) -> None:
    folder = archive.root / "applicants" / "شرکت ناپیدا - 01 - 00090"
    folder.mkdir()
    (folder / LOG_NAME).write_text("form: F-31-08-01\nlead: [unclosed\n", encoding="utf-8")
    with open_index(archive) as idx:
        hits = idx.search("ناپیدا")
        assert hits[0]["lead"] == "00090" and hits[0]["stale"] is True and hits[0]["status"] is None
        assert any(v["rule"] == "invalid-log" and v["path"] == str(folder / LOG_NAME) for v in idx.violations())
        assert "00090" not in [r["lead"] for r in idx.records()]  # `list` shows readable records only


def test_cli_actions_keep_an_existing_index_fresh_through_the_hook(archive: Config, cli) -> None:
    assert cli("reindex")[0] == 0
    code, out, _ = cli("register", "--company", "صنایع آیینه‌کاران", "--staff", "02")
    lead = out.strip()
    hits = json.loads(cli("search", "آیینه کاران", "--json")[1])
    assert hits[0]["lead"] == lead and hits[0]["status"] == "new"
    cli("log", lead, "--kind", "call", "--note", "درخواست کاتالوگ جدید")
    case = cli("convert", lead, "--service", "3")[1].strip()
    hits = json.loads(cli("search", "آیینه کاران", "--json")[1])
    assert [(h["lead"], h["case"], h["status"]) for h in hits] == [(lead, case, "open")]
    assert hits[0]["path"] == str(archive.root / "customers" / case)
    assert json.loads(cli("search", case, "--json")[1])[0]["matched"] == "case"
    assert json.loads(cli("search", "کاتالوگ جدید", "--json")[1])[0]["lead"] == lead


@pytest.mark.parametrize("disk", ["cached", "cold"])
def test_reconcile_finds_new_changed_and_removed_folders(archive: Config, disk: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from functools import partial

    from archivist.index import build

    if disk == "cold":  # every batch looks slow: after the first, the walk runs in threads
        monkeypatch.setattr(build, "COLD_BATCH_S", -1.0)
        monkeypatch.setattr(build, "probe", partial(build.probe, batch=3))
    with open_index(archive) as idx:
        assert idx.reconcile() == {"added": 0, "updated": 0, "removed": 0, "records": 80}
        gone = Path(idx.search("00003")[0]["path"])
        shutil.rmtree(gone)
        moved_file_folder = Path(idx.search("00004")[0]["path"])
        (moved_file_folder / "نامه تقدیر.pdf").write_bytes(b"pdf")
        # a folder made by hand (copied from another record and edited), as staff do
        src = Path(idx.search("00006")[0]["path"])
        data = yaml.safe_load((src / LOG_NAME).read_text(encoding="utf-8"))
        data.update(lead="00099", case=None, company="پخش سپیدار", status="following")
        new = archive.root / "applicants" / f"پخش سپیدار - {data['staff']} - 00099"
        new.mkdir()
        (new / LOG_NAME).write_bytes(dump_yaml(data))
        result = idx.reconcile()
        assert result == {"added": 1, "updated": 1, "removed": 1, "records": 80}
        assert idx.search("00003") == []
        assert idx.search("نامه تقدیر")[0]["lead"] == "00004"
        assert idx.search("سپیدار")[0]["lead"] == "00099"
        assert idx.reconcile() == {"added": 0, "updated": 0, "removed": 0, "records": 80}


def test_a_record_registered_while_a_reconcile_walks_is_not_dropped(archive: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    from archivist import workflow
    from archivist.index import build

    walk = build.probe

    def probe_while_someone_registers(root, lookup, *a, **kw):  # type: ignore[no-untyped-def]
        seen = walk(root, lookup, *a, **kw)  # the walk has passed every folder there was …
        lead = workflow.register(archive, company="کاشی همزمان", staff="01", by="01").lead
        with open_index(archive) as other:  # … when another process registers and indexes one
            other.refresh([next((archive.root / "applicants").glob(f"* - {lead}"))])
        return seen

    monkeypatch.setattr(build, "probe", probe_while_someone_registers)
    with open_index(archive) as idx:
        assert idx.reconcile()["removed"] == 0
        assert [h["company"] for h in idx.search("همزمان")] == ["کاشی همزمان"]


def test_list_reads_through_the_index_with_the_same_shape(archive: Config, cli) -> None:
    rows = json.loads(cli("list", "--json")[1])
    assert len(rows) == 80 and [r["lead"] for r in rows] == sorted(r["lead"] for r in rows)
    assert set(rows[0]) == {"lead", "case", "company", "staff", "status", "next_followup", "path"}
    following = json.loads(cli("list", "--status", "following", "--staff", "۰۱", "--json")[1])
    assert following and all(r["status"] == "following" and r["staff"] == "01" for r in following)


def test_due_lists_overdue_today_and_stuck_per_staff(archive: Config, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    soon = cli("register", "--company", "شرکت پیگیری عصر", "--staff", "07")[1].strip()
    assert cli("followup", soon, "--at", "2026-11-23T16:00")[0] == 0
    late = cli("register", "--company", "شرکت پیگیری صبح", "--staff", "07")[1].strip()
    assert cli("followup", late, "--at", "2026-11-23T10:30")[0] == 0
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T12:00:00+03:30")  # noon: the morning call is late
    lists = json.loads(cli("due", "--staff", "07", "--json")[1])
    assert set(lists) == {"overdue", "today", "stuck"}
    assert soon in [h["lead"] for h in lists["today"]]
    assert late in [h["lead"] for h in lists["overdue"]]
    assert all(h["staff"] == "07" for key in lists for h in lists[key])
    now = datetime.fromisoformat("2026-11-23T12:00:00+03:30")
    for h in lists["overdue"]:
        assert datetime.fromisoformat(h["next_followup"]) < now
    for h in lists["today"]:
        assert (
            now <= datetime.fromisoformat(h["next_followup"]) and datetime.fromisoformat(h["next_followup"]).date() == now.date()
        )
    stuck = json.loads(cli("due", "--json")[1])["stuck"]
    assert stuck and all(h["days"] >= h["limit"] and h["status"] != "archived" for h in stuck)
    assert all(h["limit"] == archive.followup.stuck_days[h["status"]] for h in stuck)
    assert soon not in [h["lead"] for h in stuck]  # registered today: not stuck yet


def test_fast_log_reader_builds_exactly_what_safe_load_builds(archive: Config, cli) -> None:
    from archivist import fastlog

    lead = cli("register", "--company", "شرکت 'آزمون' O'Neil: تست", "--staff", "01", "--email", "a@b.ir")[1].strip()
    cli("log", lead, "--kind", "call", "--note", "yes")
    cli("log", lead, "--kind", "note", "--note", "null")
    cli("log", lead, "--kind", "note", "--note", "- dash and # hash: colon")
    case = cli("convert", lead, "--service", "1")[1].strip()
    cli("invoice", case, "--amount", "120000000")
    logs = sorted(archive.root.glob("**/" + LOG_NAME))
    assert len(logs) == 81
    understood = 0
    for path in logs:
        text = path.read_text(encoding="utf-8")
        fast = fastlog.load_bytes(text.encode("utf-8", "surrogatepass"))
        if fast is not None:
            understood += 1
            assert same_value(fast, yaml.safe_load(text)), path
    assert understood >= 80  # every log archivist wrote itself


@pytest.mark.parametrize(
    "text",
    [
        "form: F-31-08-01\n# a comment\nlead: '00001'\n",
        "form: F-31-08-01\nservices: [ISO, Training]\n",
        "form: F-31-08-01\nnote: |\n  two\n  lines\n",
        "form: F-31-08-01\ncontact:\n    person: deep\n",
        'form: F-31-08-01\nnote: "escaped \\" quote"\n',
        "form: F-31-08-01\nnote: a long\n  continued plain scalar\n",
        "form: F-31-08-01\r\nlead: '00001'\r\n",
        "form: F-31-08-01\nlead: *undefined\n",
        # aliases are refused by the log reader (alias bombs): the slow path reports them (issue 13)
        "form: F-31-08-01\nevents:\n- at: &id001 2026-11-23T09:12:00+03:30\n  by: '07'\n  due: *id001\n",
        "",
        # characters yaml.safe_load refuses or reads as line breaks: the slow path must see them
        "form: F-31-08-01\nnote: bell\x07\n",
        "form: F-31-08-01\nnote: c1\x9f control\n",
        "form: F-31-08-01\nnote: next\x85line\n",
        "form: F-31-08-01\nnote: line\u2028separator\n",
        "form: F-31-08-01\nnote: lone \ud800 surrogate\n",
        "\ufeffform: F-31-08-01\n",
    ],
)
def test_fast_log_reader_declines_anything_outside_dump_yaml_shape(text: str) -> None:
    from archivist import fastlog

    assert fastlog.load_bytes(text.encode("utf-8", "surrogatepass")) is None


@pytest.mark.parametrize(
    "text",
    [
        "form: F-31-08-01\nschema: 1\nlead: 00417\nstatus: no\nnext_followup: 2026-11-24\nx: 0x1F\ny: 1_000\nz: ~\n",
        "a: 'it''s'\nb: -5\nc: 1.5e3\nd: .inf\ne: True\nf: ''\ng: []\nh: {}\n",
    ],
)
def test_fast_log_reader_resolves_plain_scalars_like_yaml(text: str) -> None:
    from archivist import fastlog

    fast = fastlog.load_bytes(text.encode("utf-8", "surrogatepass"))
    assert fast is not None and same_value(fast, yaml.safe_load(text))


def test_parallel_read_gives_the_same_index_as_a_sequential_one(archive: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    from archivist.index import build

    sequential = list(build.prepared_all(archive, workers=1))
    monkeypatch.setattr(build, "PARALLEL_FROM", 10)
    parallel = list(build.prepared_all(archive, workers=2))
    assert parallel == sequential and len(parallel) == 80


# -- a root that is not an archive, hand edits without a daemon, reindex, staff filters ----------------


@pytest.mark.parametrize("mounted", [False, True], ids=["no-folder", "empty-mount-point"])
def test_read_commands_refuse_a_root_that_holds_no_archive(cli, tmp_path: Path, mounted: bool) -> None:
    root = tmp_path / "drive"
    if mounted:
        root.mkdir()  # what an unmounted drive leaves: its empty mount point
    for args in (
        ("search", "پارس"),
        ("due",),
        ("reindex",),
        ("list",),
        ("export", "--format", "csv", "-o", str(tmp_path / "x.csv")),
    ):
        code, out, err = cli("--root", str(root), *args)
        assert code == 1, args
        assert err.startswith(f"archivist: no archive at {root}") and "archivist init" in err
        assert err.count("\n") == 1 and not out
    assert not (root / ".archivist").exists() and not (tmp_path / "x.csv").exists()
    assert root.exists() == mounted


def test_hand_edit_is_seen_by_search_due_and_export_without_a_daemon(archive: Config, cli, tmp_path: Path) -> None:
    assert cli("reindex")[0] == 0
    hit = json.loads(cli("search", "00012", "--json")[1])[0]
    log = Path(hit["path"]) / LOG_NAME
    data = yaml.safe_load(log.read_text(encoding="utf-8"))
    data["company"] = "شرکت هامون‌سازان کویر"
    data["staff"] = "07"
    log.write_bytes(dump_yaml(data))  # by hand, in an editor: nothing tells the index

    hits = json.loads(cli("search", "هامونسازان", "--json")[1])
    assert [h["lead"] for h in hits] == ["00012"]
    assert cli("export", "--format", "csv", "-o", str(tmp_path / "m.csv"))[0] == 0
    assert "شرکت هامون‌سازان کویر" in (tmp_path / "m.csv").read_text(encoding="utf-8-sig")
    lists = json.loads(cli("due", "--staff", "07", "--json")[1])
    mine = [h for key in lists for h in lists[key] if h["lead"] == "00012"]
    assert all(h["staff"] == "07" for h in mine)


def test_with_a_daemon_running_reads_do_not_reconcile(archive: Config, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import archivist.index as index_mod

    assert cli("reindex")[0] == 0
    calls: list[int] = []
    real = index_mod.Index.reconcile
    monkeypatch.setattr(index_mod.Index, "reconcile", lambda self, progress=None: calls.append(1) or real(self))
    monkeypatch.setattr(index_mod, "daemon_running", lambda cfg: True)
    assert cli("search", "پارس")[0] == 0 and calls == []  # the daemon keeps the index live
    monkeypatch.setattr(index_mod, "daemon_running", lambda cfg: False)
    assert cli("search", "پارس")[0] == 0 and calls == [1]
    monkeypatch.setattr(index_mod, "SLOW_RECONCILE_S", 0.0)  # a big archive: the wait is explained
    code, _out, err = cli("due")
    assert code == 0 and "no daemon running, so 80 record folders were checked" in err and "archivist start" in err


def test_on_a_big_archive_reads_answer_at_once_and_a_hand_edit_shows_from_the_next_command(
    archive: Config, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past catchup.SYNC_FOLDERS folders (80 here stand for 100,000) a reading command without a
    daemon walks nothing itself; a detached process catches up, and an in-place save (only the
    log's mtime changes) made while no daemon ran is in the next answer, and in `register`'s check."""
    import archivist.index as index_mod
    from archivist.index import catchup

    assert cli("reindex")[0] == 0
    monkeypatch.setattr(catchup, "SYNC_FOLDERS", 10)
    calls: list[int] = []
    real = index_mod.Index.reconcile
    monkeypatch.setattr(index_mod.Index, "reconcile", lambda self, progress=None: calls.append(1) or real(self))
    hit = json.loads(cli("search", "00012", "--json")[1])[0]
    assert catchup.wait(archive, 60)
    log = Path(hit["path"]) / LOG_NAME
    folder_mtime = Path(hit["path"]).stat().st_mtime_ns
    data = yaml.safe_load(log.read_text(encoding="utf-8"))
    data["company"] = "شرکت هامون‌سازان کویر"
    log.write_bytes(dump_yaml(data))  # saved in place, by hand: only the log's mtime changes
    assert Path(hit["path"]).stat().st_mtime_ns == folder_mtime

    code, _out, err = cli("search", "پارس")  # answers from the index as it is, starts the walk
    assert code == 0 and calls == []
    assert catchup.wait(archive, 60)
    code, out, err2 = cli("search", "هامونسازان", "--json")
    assert code == 0 and [h["lead"] for h in json.loads(out)] == ["00012"]
    said = err + err2
    assert said.count("checked for hand edits in the background") <= 1  # said once per archive
    assert catchup.wait(archive, 60)

    # registration's returning-company check: a record made by hand is seen once caught up
    src = next(archive.root.glob("applicants/*"))
    copied = yaml.safe_load((src / LOG_NAME).read_text(encoding="utf-8"))
    copied.update(lead="00099", company="صنایع سنگ‌آرای زاگرس")
    made = archive.root / "applicants" / "صنایع سنگ‌آرای زاگرس - 01 - 00099"
    made.mkdir()
    (made / LOG_NAME).write_bytes(dump_yaml(copied))
    assert cli("register", "--company", "شرکت کاشی نمونه", "--staff", "01", "--yes")[0] == 0
    assert catchup.wait(archive, 60)
    code, out, err = cli("register", "--company", "سنگ آرای زاگرس", "--staff", "01")
    assert code == 1 and "00099" in err
    assert calls == []  # every walk ran in the detached process


def test_a_commands_background_catch_up_starts_once_it_has_answered(
    archive: Config, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catch-up walk (2-3 s of CPU at 100,000 folders) started before the answer and shared
    the two cores with it: `due` took 0.44 s beside it against 0.27 s alone, for nothing, as the
    walk can only change the next answer. A one-shot command now starts it once it has answered
    (search, due, list, and register's check); the web app, which never ends, at once."""
    import archivist.index as index_mod
    from archivist import deferred
    from archivist.index import catchup

    assert cli("reindex")[0] == 0
    monkeypatch.setattr(catchup, "SYNC_FOLDERS", 10)
    order: list[str] = []
    real_start = catchup._start
    monkeypatch.setattr(catchup, "_start", lambda *a: order.append("catch-up") or real_start(*a))
    for method in ("search", "review_text", "iter_brief"):
        real = getattr(index_mod.Index, method)
        monkeypatch.setattr(
            index_mod.Index, method, lambda self, *a, _real=real, **k: order.append("answer") or _real(self, *a, **k)
        )
    for command in (["search", "پارس"], ["due"], ["list"]):
        order.clear()
        assert cli(*command)[0] == 0
        assert order == ["answer", "catch-up"], command
        assert catchup.wait(archive, 60)
    order.clear()
    assert cli("register", "--company", "شرکت تازه", "--staff", "01", "--yes")[0] == 0
    assert order and order[-1] == "catch-up" and catchup.wait(archive, 60)
    assert not deferred.later(lambda: None)  # outside a command (the web app): nothing is kept


def test_start_which_ends_in_the_tui_starts_its_catch_up_at_once(archive: Config, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """`archivist start` opens the TUI too, but only `tui`, `daemon` and `serve` were named as
    commands that keep running: a whole TUI session under `start` held every catch-up it asked
    for (the returning-company check's) until the TUI closed, so hand edits went unseen."""
    from archivist import deferred
    from archivist.cli import tui

    held: list[bool] = []
    monkeypatch.setattr(tui, "cmd_tui", lambda ctx, args: held.append(deferred.later(lambda: None)) or 0)
    assert cli("start", "--no-daemon")[0] == 0
    assert held == [False]


def test_the_background_catch_up_is_not_a_child_of_the_command_that_started_it(archive: Config, cli) -> None:
    """A reading command that outlived the catch-up it started reaped it when it exited, so the
    walk's CPU (2-3 s at 100,000 folders) was charged to the command: `export` showed 5.5 s of
    CPU in 3.5 s of wall time without a daemon. The catch-up is started through a shell that exits
    at once: once it has run there is nothing of it left in the command to reap (or be charged for).
    Checked in a fresh process (no other children)."""
    import subprocess
    import sys

    assert cli("reindex")[0] == 0
    script = f"""
import os, sys, time
from archivist.config import load_config
from archivist.index import catchup, open_current
catchup.SYNC_FOLDERS = 10
cfg = load_config({str(archive.path)!r})
open_current(cfg).close()  # answers from the index, starts the catch-up
deadline = time.monotonic() + 60
while catchup.running(cfg) and time.monotonic() < deadline:  # its lock (catchup.wait would reap it)
    time.sleep(0.05)
assert not catchup.running(cfg)
try:
    print(os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT))  # peek, reap nothing
except ChildProcessError:
    print(None)  # no child at all
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None", f"a finished child was left to be reaped: {done.stdout}"


def test_reindex_keeps_the_daemons_naming_violations(archive: Config, cli) -> None:
    from archivist.doctor import Violation

    assert cli("reindex")[0] == 0
    folders = [Path(json.loads(cli("search", code, "--json")[1])[0]["path"]) for code in ("00005", "00006")]
    with open_index(archive) as idx:
        for folder in folders:
            idx.update(violations={folder: [Violation("bidi-mark", str(folder / "نامه\u200f.pdf"), "bidi control mark in name")]})
    shutil.rmtree(folders[1])  # gone: its violation goes with it
    code, out, _ = cli("reindex")
    assert code == 0 and "indexed 79 records" in out
    with open_index(archive) as idx:
        kept = [(v["rule"], v["path"]) for v in idx.violations()]
    assert kept == [("bidi-mark", str(folders[0] / "نامه\u200f.pdf"))]


def test_staff_filters_must_name_configured_staff(archive: Config, cli) -> None:
    assert cli("reindex")[0] == 0
    for args in (("due", "--staff", "abc"), ("search", "پارس", "--staff", "99"), ("list", "--staff", "05")):
        code, out, err = cli(*args)
        assert code == 1 and not out, args
        assert "01 (مریم احمدی)" in err and "07 (سارا)" in err and err.count("\n") == 1
    assert cli("due", "--staff", "۷")[0] == 0  # Persian digits and a missing zero are fine


def test_an_empty_archive_prints_no_progress_noise(cli, cfg: Config) -> None:
    assert cli("init")[0] == 0
    code, out, err = cli("search", "پارس")
    assert code == 0 and not out
    assert err.splitlines() == ["archivist: no index yet; building it from the folders", "nothing found"]
    code, _out, err = cli("reindex")
    assert code == 0 and "reading logs" not in err


def test_list_and_due_stream_exactly_the_json_of_the_whole_answer(archive: Config, cli) -> None:
    """`list --json` and `due --json` print rows as the index hands them over; the bytes are
    those of json.dumps over the complete answer, empty lists included."""
    assert cli("reindex")[0] == 0
    with open_index(archive) as idx:
        everything, lists = idx.records(), idx.due()
        from archivist.stages import STAGES

        empty = next(s for s in STAGES if not idx.records(status=s, staff="02"))
        mine = idx.due(staff="02")
    assert len(everything) == 80 and lists["overdue"] and lists["stuck"]

    def dumped(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n"

    assert cli("list", "--json")[1] == dumped(everything)
    assert cli("list", "--status", empty, "--staff", "02", "--json")[1] == "[]\n"
    assert cli("due", "--json")[1] == dumped(lists)
    assert cli("due", "--staff", "02", "--json")[1] == dumped(mine)
    text = cli("due")[1].splitlines()
    assert text[0] == f"overdue follow-ups ({len(lists['overdue'])})"
    assert f"stuck in a stage ({len(lists['stuck'])})" in text
    assert len(cli("list")[1].splitlines()) == 80
