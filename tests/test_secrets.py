"""The Telegram token stays in memory (issue 13, class 10): never in a file, a log line or a child.

A real loopback HTTP server stands in for Telegram and answers with errors that echo the request
URL (raw, URL-quoted, cut in the middle); a token holding a control character makes http.client
refuse the URL with a message that repeats it repr-escaped. Then every file under the archive and
its state, every log line and the CLI's output are searched for the token's distinctive part.
rsync is started through a wrapper on PATH that records the environment it was given.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import urllib.parse
from pathlib import Path

import pytest

from archivist import backup, store
from archivist.config import load_config

from .conftest import make_archive
from .test_telegram import BotAPI, cli_factory, converted, telegram_config, waiting  # noqa: F401 - fixture

SECRET = "AAE-secret"  # in every representation of the tokens below (raw, quoted, escaped, cut)


def _leaks(cfg_root: Path, state: Path, texts: str) -> list[str]:
    found = [f"output/log: {line}" for line in texts.splitlines() if SECRET in line]
    for top in {cfg_root, state}:
        for p in top.rglob("*"):
            if p.is_file() and not p.is_symlink() and SECRET.encode() in p.read_bytes():
                found.append(str(p))
    return found


def _api_echoing(echo: str) -> BotAPI:
    """A Bot API whose every answer quotes the request path back (as Telegram's errors can)."""
    api = BotAPI()
    api.echo = echo  # type: ignore[attr-defined]
    return api


@pytest.mark.parametrize("echo", ["raw 400", "quoted 400", "quoted 500", "cut ok:false"])
def test_error_that_echoes_the_url_leaves_no_token_anywhere(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli_factory,  # noqa: F811 - the fixture imported above
    echo: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = "123456789:AAE-secret-token-for-tests_only"
    monkeypatch.setenv("ARCHIVIST_TELEGRAM_TOKEN", token)
    api = BotAPI()
    try:
        config = telegram_config(tmp_path, api.port)
        cfg = load_config(config)
        converted(cfg)
        path = f"/bot{token}/sendMessage"
        if echo == "raw 400":
            answer = (400, {"ok": False, "description": f"Bad Request: not found {path}"})
        elif echo.startswith("quoted"):
            status = int(echo.split()[1])
            answer = (status, {"ok": False, "description": f"Bad Request: {urllib.parse.quote(path, safe='')}"})
        else:  # a 200 that is not ok: the answer is quoted cut at 200 characters, inside the token
            prefix = "{'ok': False, 'description': '" + "/bot"
            pad = "x" * (200 - len(prefix) - len("123456789:AAE-secret-"))
            answer = (200, {"ok": False, "description": pad + path})
        api.script += [answer] * 6
        code, out, err = cli_factory(config)("notify", "flush")
        assert len(api.requests) >= 1
        [left] = waiting(cfg)  # not sent, kept with its error for `status`
        last_error = json.loads(left.read_text(encoding="utf-8"))["last_error"]
        assert last_error and "<token>" in last_error, last_error
        assert _leaks(cfg.root, store.layout_of(cfg).state, out + err + caplog.text) == []
    finally:
        api.stop()


def test_token_with_a_control_character_is_not_written_repr_escaped(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli_factory,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # a token pasted with a stray BEL in it: http.client refuses the URL and repeats it, repr-escaped
    monkeypatch.setenv("ARCHIVIST_TELEGRAM_TOKEN", "123456789:AAE-secret\x07token")
    api = BotAPI()
    try:
        config = telegram_config(tmp_path, api.port)
        cfg = load_config(config)
        converted(cfg)
        code, out, err = cli_factory(config)("notify", "flush")
        assert api.requests == []  # refused before anything was sent
        [left] = waiting(cfg)
        last_error = json.loads(left.read_text(encoding="utf-8"))["last_error"]
        assert "control characters" in last_error and "<token>" in last_error, last_error
        assert _leaks(cfg.root, store.layout_of(cfg).state, out + err + caplog.text) == []
    finally:
        api.stop()


def _rsync_wrapper(tmp_path: Path) -> Path:
    """A `rsync` first on PATH that writes the environment it got, then runs the real rsync."""
    real = shutil.which("rsync")
    assert real, "rsync is needed"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "rsync"
    seen = tmp_path / "rsync-env"
    wrapper.write_text(f'#!/bin/sh\nenv >> "{seen}"\necho --- >> "{seen}"\nexec "{real}" "$@"\n', encoding="utf-8")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return bindir


@pytest.mark.parametrize("token_env", ["ARCHIVIST_TELEGRAM_TOKEN", "OFFICE_BOT_TOKEN"])
def test_rsync_does_not_inherit_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token_env: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        telegram_config(tmp_path, 9)
        .read_text(encoding="utf-8")
        .replace("token_env: ARCHIVIST_TELEGRAM_TOKEN", f"token_env: {token_env}"),
        encoding="utf-8",
    )
    cfg = make_archive(config)
    converted(cfg)
    monkeypatch.setenv(token_env, "123456789:AAE-secret-token-for-tests_only")
    monkeypatch.setenv("PATH", f"{_rsync_wrapper(tmp_path)}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("OFFICE_MARKER", "kept")  # the rest of the environment is passed on
    (tmp_path / "drive").mkdir()
    drive = backup.init_target(cfg, tmp_path / "drive" / "archivist")

    backup.run_backup(cfg, drive)
    backup.verify(cfg, target=drive)

    runs = (tmp_path / "rsync-env").read_text(encoding="utf-8").split("---\n")[:-1]
    assert len(runs) >= 2  # the backup's copy and the verify's comparison both went through rsync
    for run in runs:
        names = {line.split("=", 1)[0] for line in run.splitlines() if "=" in line}
        assert "OFFICE_MARKER" in names
        assert token_env not in names and SECRET not in run
