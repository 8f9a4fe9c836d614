"""Fixtures that build real archives on a real filesystem (tmp_path), with real config files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from archivist.actions import init_archive
from archivist.cli import main as cli_main
from archivist.config import Config, load_config

# Child processes (`python -m archivist …` from a temporary folder) must run this checkout's code,
# not whatever copy an editable install points at (a second git worktree, for one).
_PROJECT = str(Path(__file__).resolve().parent.parent)
if os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] != _PROJECT:
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_PROJECT, os.environ.get("PYTHONPATH", "")) if p)

CONFIG_TEXT = """\
root: ./archive
staff:
  "01": "مریم احمدی"
  "02": "Reza Karimi"
  "07": "سارا"
services:
  "1": ISO certification
  "2": Product certification
  "3": Training
  "4": Consulting
calendar: jalali
timezone: Asia/Tehran
"""


@pytest.fixture(scope="session")
def _cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache-home")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, _cache_home: Path) -> None:
    for var in ("ARCHIVIST_CONFIG", "ARCHIVIST_ROOT", "ARCHIVIST_NOW", "ARCHIVIST_STAFF"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(_cache_home))  # the configs parsed (config_path.py), not ~/.cache
    monkeypatch.setenv("ARCHIVIST_STAFF", "01")
    # The product speaks Persian by default (ui.language: fa); tests that assert English messages
    # run in English, tests of the Persian screens ask for fa themselves (`persian` fixture).
    monkeypatch.setenv("ARCHIVIST_LANGUAGE", "en")


@pytest.fixture
def persian(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the test as the office does: ui.language fa, no per-account override."""
    monkeypatch.delenv("ARCHIVIST_LANGUAGE", raising=False)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """tmp_path/config.yaml (CONFIG_TEXT) and its archive under tmp_path/archive, initialised."""
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG_TEXT, encoding="utf-8")
    make_archive(path)
    return path


def make_archive(config: Path | Config) -> Config:
    """The one way tests get an archive: what `archivist init` does (only init creates an archive;
    every other command refuses a root that holds none). Takes a config file or a loaded Config."""
    c = load_config(config) if isinstance(config, Path) else config
    init_archive(c)
    return c


@pytest.fixture
def cfg(config_file: Path) -> Config:
    """The config of an initialised, empty archive under tmp_path/archive."""
    return load_config(config_file)


@pytest.fixture
def cli(config_file: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run `archivist --config <tmp config> ARGS…` in-process on the `cfg` archive: (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = cli_main(["--config", str(config_file), *args])
        except SystemExit as e:  # argparse usage errors
            code = int(e.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root (except derived state) → sha256: proves 'nothing changed'."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".archivist"]
        for name in filenames:
            p = Path(dirpath) / name
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
        for d in dirnames:
            out[str((Path(dirpath) / d).relative_to(root)) + "/"] = "dir"
    return out
