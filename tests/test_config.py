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


def test_a_config_read_before_is_not_parsed_again_and_any_change_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing yaml and parsing config.yaml cost every command about 20 ms: a command reads
    what the last one parsed from the same text (this account's cache), without yaml, and gets
    the same config. A changed text, a copy of another text under the same name, a broken copy,
    or a value JSON would change (a date) is parsed again, and a YAML error still names its line."""
    import json
    import subprocess
    import sys

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = write(tmp_path, (Path(__file__).resolve().parent.parent / "config.yaml").read_text("utf-8"))
    probe = (
        "import sys, json; from archivist.config import load_config; c = load_config(sys.argv[1]); "
        "print(json.dumps(['yaml' in sys.modules, c.timezone, sorted(c.staff), c.followup.stuck_days]))"
    )

    def load() -> list:
        done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first, second = load(), load()
    assert first[0] is True and second[0] is False and first[1:] == second[1:]
    path.write_text(path.read_text("utf-8").replace("Asia/Tehran", "Europe/Berlin"), "utf-8")
    changed = load()
    assert changed[0] is True and changed[1] == "Europe/Berlin" and load() == [False, *changed[1:]]

    (copy,) = [p for p in (tmp_path / "cache" / "archivist").glob("config-*.json") if "Berlin" in p.read_text("utf-8")]
    copy.write_text(copy.read_text("utf-8").replace("Europe/Berlin", "Asia/Tokyo"), "utf-8")  # another text's copy
    assert load() == changed
    copy.write_text("{not json", "utf-8")
    assert load() == changed

    from datetime import date

    from archivist.config_path import parse_config_text

    kept = set((tmp_path / "cache" / "archivist").iterdir())
    assert parse_config_text("opened: 2026-01-01\n") == {"opened": date(2026, 1, 1)}  # YAML's date, not JSON's
    assert set((tmp_path / "cache" / "archivist").iterdir()) == kept  # so it is never remembered
    path.write_text("root: ./a\nstaff: [\n", "utf-8")
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"config.yaml:\d+"):
            load_config(path)
