"""config.yaml is validated at load; every error names the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from archivist.config import load_config
from archivist.dates import fmt, parse_when
from archivist.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_repo_default_config_loads() -> None:
    cfg = load_config(Path(__file__).parent.parent / "config.yaml")
    assert cfg.root.name == "archive" and cfg.root.parent == Path(__file__).parent.parent.resolve()
    assert cfg.services["1"] and cfg.staff["01"] and cfg.calendar == "jalali"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("colour: blue\n", "colour"),
        ("naming: {policy: delete}\n", "naming.policy"),
        ("followup: {first_call_hours: soon}\n", "followup.first_call_hours"),
        ("staff: {'7': Ali}\n", "staff.7"),
        ("services: {'1': A, '12': B}\n", "services.12"),
        ("calendar: lunar\n", "calendar"),
        ("timezone: Mars/Olympus\n", "timezone"),
        ("telegram: {token: '123:abc'}\n", "telegram.token"),
        ("backup: {keep: 0}\n", "backup.keep"),
        ("naming: {case_folder: 'case-{lead}'}\n", "naming.case_folder"),
        ("followup: {stuck_days: 5}\n", "followup.stuck_days"),
        ("followup: {stuck_days: {new: true}}\n", "followup.stuck_days.new"),
        ("index: {path: 5}\n", "index.path"),
        ("display: {header_languages: 5}\n", "display.header_languages"),
        ("display: 5\n", "display"),
        ("telegram: [chat]\n", "telegram"),
        ("backup: {target: 5}\n", "backup.target"),
        ("telegram: {template: '{company} — {case_code}'}\n", "telegram.template"),
        ("telegram: {template: '{company} — {case'}\n", "telegram.template"),
        ("numbers: {invoice: 'INV-{year}'}\n", "numbers.invoice"),
    ],
)
def test_bad_key_is_named_with_the_file(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert f"'{key}'" in str(e.value) and str(path) in str(e.value)


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "root: ./a\nstaff: [\n")
    with pytest.raises(ConfigError, match=r"config.yaml:\d+"):
        load_config(path)


def test_root_is_relative_to_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "root: ./data\n")
    monkeypatch.chdir("/")
    assert load_config(path).root == (tmp_path / "data").resolve()


def test_jalali_round_trip_and_persian_digits() -> None:
    when = parse_when("۱۴۰۵/۰۹/۰۲ ۱۰:۰۰", "Asia/Tehran")
    assert when.isoformat() == "2026-11-23T10:00:00+03:30"
    assert fmt(when) == "1405-09-02 10:00"
    assert fmt(when, "gregorian") == "2026-11-23 10:00"
    assert parse_when("2026-11-23T10:00", "Asia/Tehran") == when


def test_type_errors_read_as_english(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'followup.first_call_hours': must be an integer, got 'soon'"):
        load_config(write(tmp_path, "followup: {first_call_hours: soon}\n"))
    with pytest.raises(ConfigError, match=r"'daemon.settle_seconds': must be a number, got True"):
        load_config(write(tmp_path, "daemon: {settle_seconds: true}\n"))


def test_telegram_template_with_every_allowed_placeholder_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "telegram: {template: '{company} — {case} ({lead}) {{new}}'}\n"))
    assert cfg.telegram.template.format(company="c", case="1001", lead="00001") == "c — 1001 (00001) {new}"
