"""office.office_health: one function adds the index's violations to the office status, for the
web's and the TUI's My day and `archivist status` (issue 13 (D))."""

from __future__ import annotations

from pathlib import Path

from archivist import office, workflow
from archivist.config import Config
from archivist.record import LOG_NAME
from tests.test_adversarial import _run


def test_status_without_a_daemon_counts_the_violations_the_index_holds(cfg: Config, config_file: Path) -> None:
    assert _run(config_file, "init").returncode == 0
    rec = workflow.register(cfg, company="شرکت سالم", staff="01")
    broken = cfg.root / "applicants" / "شرکت خراب - 01 - 00099"
    broken.mkdir()
    (broken / LOG_NAME).write_text("lead: '00099'\nevents: [\n", encoding="utf-8")  # a log cut short
    assert _run(config_file, "reindex").returncode == 0
    health = office.office_health(cfg)
    assert [v["rule"] for v in health["violation_list"]] == ["invalid-log"]
    assert health["running"] is False and health["violations"] is None  # no daemon ever counted them
    out = _run(config_file, "status").stdout
    assert "naming violations: 1 (in the index)" in out, out
    assert rec.folder.is_dir()


def test_an_index_that_cannot_be_read_leaves_the_rest_of_the_status(cfg: Config, config_file: Path) -> None:
    assert _run(config_file, "init").returncode == 0

    def broken() -> list[dict[str, object]]:
        raise OSError(5, "Input/output error", str(cfg.index_file))

    health = office.office_health(cfg, broken)
    assert health["violation_list"] is None and health["violations_error"].startswith("OSError")
    assert health["root"] == str(cfg.root) and "unfiled" in health


def test_status_counts_the_record_folders_without_a_path_for_each(cfg: Config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`status` (everyone runs it) built a pathlib.Path for each of 100,000 record folders only to
    count them: 0.45 s of its 0.85 s. It counts the names the folder listing gives; hidden names
    and plain files in an area are still not records."""
    from archivist import store

    for company in ("شرکت یک", "شرکت دو", "شرکت سه"):
        workflow.register(cfg, company=company, staff="01")
    (cfg.root / "applicants" / ".hidden").mkdir()
    (cfg.root / "applicants" / "a file.txt").write_text("x", encoding="utf-8")

    def a_path_each(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a Path built per record folder")

    monkeypatch.setattr(store, "iter_record_folders", a_path_each)
    monkeypatch.setattr(office, "iter_record_folders", a_path_each, raising=False)
    assert office.office_status(cfg)["records"] == 3
