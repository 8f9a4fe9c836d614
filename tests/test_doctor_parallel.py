"""doctor at scale (issue 17): the same findings whether folders are read in this process or in
worker processes, remembered or read again; the fast log reader in front of yaml; what a
no-change run holds in memory."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tracemalloc
from datetime import datetime
from pathlib import Path

import yaml

from archivist import doctor, record, workflow
from archivist.config import Config
from archivist.index.checked import doctor_memory
from archivist.record import LOG_NAME
from tests.test_doctor import build_bad_tree, cases_sharing_numbers

NOW = datetime.fromisoformat("2026-11-23T10:00:00+03:30")

# every rule doctor reports, each seeded at least once by seed_every_problem
EVERY_RULE = {
    "wrong-pattern",
    "code-mismatch",
    "duplicate-code",
    "two-logs",
    "no-log",
    "invalid-log",
    "control-char",
    "reserved-name",
    "edge-space-dot",
    "too-long",
    "bidi-mark",
    "forbidden-char",
    "arabic-letters",
    "persian-digits",
    "misplaced",
    "case-clash",
    "windows-path-too-long",
    "duplicate-contract",
    "duplicate-invoice",
    "duplicate-tax-id",
    "symlink",
}


def seed_every_problem(cfg: Config, tmp_path: Path) -> None:
    """An archive of healthy generated records with one or more of every kind of problem doctor
    knows among them, in both areas, in sub-folders, in the inbox."""
    from bench.generate import generate

    generate(cfg, 40, seed=3, now=NOW)
    build_bad_tree(cfg)
    apps = cfg.root / "applicants"
    # a log that cannot be read, a folder without one, a log moved by hand into the wrong area
    r = workflow.register(cfg, company="Broken Co", staff="01")
    (r.folder / LOG_NAME).write_text("form: [\n", encoding="utf-8")
    r = workflow.register(cfg, company="Empty Co", staff="02")
    (r.folder / LOG_NAME).unlink()
    r = workflow.register(cfg, company="Moved Co", staff="01")
    r.folder.rename(cfg.root / "archive" / "applicants" / r.folder.name)
    # names inside records: Arabic letters, a forbidden character, twins by case, a Windows-deep path
    r = workflow.register(cfg, company="Names Co", staff="01")
    (r.folder / "نامه كامل.pdf").write_bytes(b"a")
    (r.folder / "a?b.pdf").write_bytes(b"b")
    (r.folder / "Quote.pdf").write_bytes(b"c")
    (r.folder / "quote.pdf").write_bytes(b"d")
    deep = r.folder / ("پوشه فرعی " * 6).strip() / ("زیرپوشه " * 6).strip()
    deep.mkdir(parents=True)
    (deep / (("نامه " * 22).strip() + ".pdf")).write_bytes(b"x")
    (deep / "CON.txt").write_bytes(b"y")
    # record folders that differ only by case, and a record folder that is a symbolic link
    (apps / r.folder.name.upper()).mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (apps / "Linked Co - 01 - 00777").symlink_to(outside, target_is_directory=True)
    # a contract, an invoice number and a tax ID used by two cases
    cases_sharing_numbers(cfg)
    # a hand-edited log yaml reads and the fast reader leaves to it (a comment), still clean
    r = workflow.register(cfg, company="Commented Co", staff="01")
    with open(r.folder / LOG_NAME, "a", encoding="utf-8") as f:
        f.write("# called back on Sunday\n")
    # the inbox: names to repair and twins by case
    inbox = cfg.root / "inbox"
    (inbox / "scan\x07.pdf").write_bytes(b"i")
    (inbox / "Letter.pdf").write_bytes(b"j")
    (inbox / "letter.pdf").write_bytes(b"k")


def _run(cfg: Config, full: bool = False, memory: bool = True) -> list[doctor.Violation]:
    if not memory:
        return doctor.check_tree(cfg, full=full)
    with doctor_memory(cfg, doctor.memory_rules(cfg)) as mem:
        assert mem is not None
        return doctor.check_tree(cfg, full=full, memory=mem)


def test_worker_processes_find_exactly_what_one_process_finds(cfg: Config, cli, tmp_path: Path, monkeypatch) -> None:
    """Every kind of problem, seeded among healthy records: read in worker processes, remembered
    from the last run, or read again with --full, doctor reports the same violations in the same
    order with the same words, and prints the same text."""
    seed_every_problem(cfg, tmp_path)
    assert cli("reindex")[0] == 0
    monkeypatch.setattr(doctor, "PARALLEL_FROM", 10**9)
    serial = _run(cfg, memory=False)
    assert {v.rule for v in serial} == EVERY_RULE
    serial_text = cli("doctor")[1]
    assert _run(cfg) == serial  # the first run with the index: every folder read, the clean remembered
    assert _run(cfg) == serial  # remembered

    monkeypatch.setattr(doctor, "PARALLEL_FROM", 2)
    monkeypatch.setattr(doctor, "CHUNK", 7, raising=False)  # many small tasks: the order of the answers is the walk's
    assert doctor.check_tree(cfg) == serial
    assert _run(cfg, full=True) == serial
    assert _run(cfg) == serial
    assert cli("doctor")[1] == serial_text
    assert cli("doctor", "--full")[1] == serial_text
    assert json.loads(cli("doctor", "--json")[1])["violations"] == [v.to_json() for v in serial]
    # as if every folder came from the disk: each task reads its folders ahead in threads
    blocks = itertools.count()
    monkeypatch.setattr(doctor, "_blocks_read", lambda: next(blocks))
    assert _run(cfg, full=True) == serial
    monkeypatch.setattr(doctor, "PARALLEL_FROM", 10**9)
    assert _run(cfg, full=True) == serial


def test_doctor_full_reads_the_logs_archivist_wrote_without_yaml(cfg: Config, cli, tmp_path: Path, monkeypatch) -> None:
    """The fast reader (the index's, now every reader's) parses the logs in dump_yaml's shape;
    yaml reads only the hand-edited and broken ones, and says what is wrong the same way."""
    seed_every_problem(cfg, tmp_path)
    monkeypatch.setattr(doctor, "PARALLEL_FROM", 10**9)  # counted in this process
    parsed: list[str] = []
    slow = record.safe_load_log

    def counting(text: str) -> object:
        parsed.append(text)
        return slow(text)

    monkeypatch.setattr(record, "safe_load_log", counting)
    found = doctor.check_tree(cfg, full=True)
    logs = len(list(cfg.root.glob("**/" + LOG_NAME)))
    assert logs > 50
    # exactly the two logs not in dump_yaml's shape: the unreadable one and the one with a comment
    # added by hand; the numbers edited by hand (tax_id unquoted) and the twin copied with
    # yaml.safe_dump are still that shape and are read fast
    commented = next(cfg.root.glob("applicants/Commented Co*"))
    assert sorted(parsed) == sorted(["form: [\n", (commented / LOG_NAME).read_text(encoding="utf-8")])
    assert [v.message for v in found if v.rule == "invalid-log"] == [
        "not valid YAML: did not find expected node content (line 2)"
    ]


def test_no_change_doctor_reads_no_log_of_a_folder_that_did_not_change(cfg: Config, cli, monkeypatch) -> None:
    """With the index current, a second run opens only logs of folders whose stats changed."""
    from bench.generate import generate

    generate(cfg, 50, seed=4, now=NOW)
    assert cli("reindex")[0] == 0
    assert cli("doctor")[0] == 0  # remembers every folder clean
    folders = sorted(p.parent for p in cfg.root.glob("*/*/" + LOG_NAME))
    edited = folders[5]
    data = yaml.safe_load((edited / LOG_NAME).read_text(encoding="utf-8"))
    data["company_note"] = "x"
    (edited / LOG_NAME).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    opened: list[str] = []
    real = record.read_log

    def spy(path: Path | str, limit: int | None = None) -> tuple[os.stat_result, bytes]:
        opened.append(str(path))
        return real(path, limit)

    monkeypatch.setattr(record, "read_log", spy)
    monkeypatch.setattr(doctor, "PARALLEL_FROM", 10**9)
    assert cli("doctor")[0] == 0
    assert [p for p in opened if p.startswith(str(cfg.root))] == [str(edited / LOG_NAME)]


def test_no_change_doctor_holds_names_and_codes_not_the_archive(cfg: Config, cli, monkeypatch) -> None:
    """What doctor with nothing changed holds in Python at its peak grows by a few hundred bytes a
    folder (its name and codes), not by what the index and the memory know of every folder: the
    issue measured 286 MB at 100,000 records. Compared between two archive sizes, so what does not
    grow with the archive (imports, SQLite) does not count."""
    from bench.generate import generate

    def peak() -> int:
        tracemalloc.start()
        try:
            with doctor_memory(cfg, doctor.memory_rules(cfg)) as mem:
                doctor.check_tree(cfg, memory=mem)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    monkeypatch.setattr(doctor, "PARALLEL_FROM", 10**9)
    generate(cfg, 300, seed=5, now=NOW)
    assert cli("reindex")[0] == 0 and cli("doctor")[0] == 0
    small = peak()
    # as many folders again: copies of these, each a clean record of its own
    apps = cfg.root / "applicants"
    for i, folder in enumerate(sorted(apps.iterdir())):
        twin = apps / f"Twin {i} Co - 01 - {90000 + i:05d}"
        shutil.copytree(folder, twin)
        data = yaml.safe_load((twin / LOG_NAME).read_text(encoding="utf-8"))
        data.update(lead=f"{90000 + i:05d}", staff="01", company=f"Twin {i} Co")
        (twin / LOG_NAME).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    added = len(list(apps.iterdir())) // 2
    assert cli("reindex")[0] == 0 and cli("doctor")[0] == 0
    per_folder = (peak() - small) / added
    assert per_folder < 1000, per_folder
