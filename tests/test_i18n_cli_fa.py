"""With `ui.language: fa` (the office's setting), the CLI's errors are Persian in every area:
backup, daemon, doctor, allocation, index, export, config, and argparse's own usage errors.

Each test runs the real command in-process against a real archive in tmp_path and checks what a
person reads on the terminal: Persian words, and no English sentence (three English words in a
row; codes, paths, flags and `commands` are typed as they are and do not count)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from archivist.config import Config
from archivist.daemon.instance import acquire_lock

PERSIAN = re.compile(r"[\u0600-\u06FF]{3,}")


def english_sentence(text: str) -> str | None:
    """Three plain English words in a row, ignoring `code`, paths, flags, keys and numbers."""
    text = re.sub(r"`[^`]*`", " ", text)
    words = []
    for token in text.split():
        plain = re.fullmatch(r"[(«\"']?([A-Za-z]+)[)»\"',;:.]?", token)
        if plain:
            words.append(plain.group(1))
            if len(words) >= 3:
                return " ".join(words)
        else:
            words = []
    return None


def speaks_persian(text: str) -> None:
    assert PERSIAN.search(text), f"no Persian in: {text!r}"
    assert english_sentence(text) is None, f"English left ({english_sentence(text)!r}) in: {text!r}"
    assert "Traceback" not in text


def register(cli, company: str = "شرکت نمونه") -> str:  # type: ignore[no-untyped-def]
    code, out, err = cli("register", "--company", company, "--staff", "01")
    assert code == 0, err
    return out.strip()


@pytest.fixture
def archive(cli, cfg: Config, persian: None) -> Config:  # type: ignore[no-untyped-def]
    code, _out, err = cli("init")
    assert code == 0, err
    return cfg


def test_backup_error_is_persian(cli, archive: Config) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("backup", "run")  # no backup.target configured
    assert code == 1
    speaks_persian(err)
    assert "مقصد پشتیبان" in err


def test_daemon_error_is_persian(cli, archive: Config) -> None:  # type: ignore[no-untyped-def]
    fd = acquire_lock(archive)  # a daemon of this archive is running (its lock is held)
    try:
        code, out, err = cli("daemon", "--once")
    finally:
        os.close(fd)
    assert code == 1
    speaks_persian(err)
    assert "سرویس پس‌زمینه" in err


def test_doctor_report_is_persian(cli, archive: Config) -> None:  # type: ignore[no-untyped-def]
    lead = register(cli)
    folder = next(p for p in archive.root.rglob("F-31-08-01.yaml") if lead in str(p.parent)).parent
    (folder / "F-31-08-01.yaml").rename(folder / "old-log.txt")  # a record folder without its log
    code, out, err = cli("doctor")
    line = next(x for x in out.splitlines() if folder.name in x)
    speaks_persian(line.split(":", 1)[1])  # after "<rule> <path>:"
    assert "فایل پیگیری" in line


def test_allocation_error_is_persian(cli, archive: Config) -> None:  # type: ignore[no-untyped-def]
    case = cli("convert", register(cli), "--service", "1")[1].strip()
    code, out, err = cli("contract", case, "--number", "4501")
    assert code == 0, err
    other = cli("convert", register(cli, "کارخانه دیگر"), "--service", "1")[1].strip()
    code, out, err = cli("contract", other, "--number", "4501")  # the same number twice
    assert code == 1
    speaks_persian(err)
    assert "قرارداد" in err and "4501" in err


def test_allocation_registry_error_is_persian(cli, archive: Config) -> None:  # type: ignore[no-untyped-def]
    (archive.root / "registry.yaml").write_text("applicant: many\n", encoding="utf-8")
    code, out, err = cli("register", "--company", "شرکت نمونه", "--staff", "01")
    assert code == 1
    speaks_persian(err)
    assert "عدد صحیح" in err


def test_index_error_is_persian(cli, config_file: Path, persian: None) -> None:  # type: ignore[no-untyped-def]
    text = config_file.read_text(encoding="utf-8").replace("root: ./archive", "root: ./drive/archive")
    config_file.write_text(text, encoding="utf-8")
    code, out, err = cli("search", "نمونه")  # the root's drive is not there: no archive to search
    assert code == 1
    speaks_persian(err)
    assert "بایگانی نیست" in err


def test_export_error_is_persian(cli, archive: Config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("export", "-o", str(tmp_path / "list.csv"), "--format", "xlsx")
    assert code == 1
    speaks_persian(err)
    assert "پسوند" in err


def test_config_error_is_persian(cli, config_file: Path, persian: None) -> None:  # type: ignore[no-untyped-def]
    config_file.write_text(config_file.read_text(encoding="utf-8") + "web: {port: 70000}\n", encoding="utf-8")
    code, out, err = cli("list")
    assert code == 1
    speaks_persian(err)
    assert "درگاه" in err and "70000" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("lgo",), "گزینه نامعتبر"),
        (("log",), "لازم‌اند"),
        (("list", "--bogus"), "آرگومان‌های ناشناخته"),
    ],
)
def test_usage_errors_are_persian(cli, persian: None, args: tuple[str, ...], words: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(*args)
    assert code == 2
    last = err.strip().splitlines()[-1]  # the usage line above it is a synopsis of flags
    speaks_persian(last)
    assert words in last


def test_usage_errors_follow_ui_language_en(cli, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ARCHIVIST_LANGUAGE", raising=False)
    config_file.write_text(config_file.read_text(encoding="utf-8") + "ui: {language: en}\n", encoding="utf-8")
    code, out, err = cli("log")
    assert code == 2 and "the following arguments are required" in err


def test_help_is_persian(cli, persian: None) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("invoice", "--help")
    assert code == 0
    assert "نمایش این راهنما" in out and "شناسه یکتای فاکتور" in out


def test_status_of_a_new_archive_has_no_english_word(cli, archive: Config) -> None:  # type: ignore[no-untyped-def]
    """`status` before any daemon ran: the values (never reconciled, index state unknown) are words
    too, not only the labels in front of them."""
    register(cli)
    code, out, err = cli("status")
    assert code == 0, err
    speaks_persian(out)
    values = [line.split(":", 1)[1] for line in out.splitlines() if ":" in line]
    lone = [v for v in values if re.search(r"\b(never|unknown|ok|down|starting|opening)\b", v)]
    assert not lone, lone


def test_show_names_stages_and_events_in_persian(cli, archive: Config) -> None:  # type: ignore[no-untyped-def]
    """`show` is read by people: the stage, the timeline's heading, event kinds and the stages they
    led to are words of the office's language, as `history` and the TUI show them."""
    lead = register(cli)
    code, _out, err = cli("log", lead, "--kind", "call", "--note", "تماس گرفته شد")
    assert code == 0, err
    code, out, err = cli("show", lead)
    assert code == 0, err
    speaks_persian(out)
    assert "در پیگیری" in out and "تماس" in out
    assert not re.search(r"\b(new|following|registered|call|timeline)\b", out), out
