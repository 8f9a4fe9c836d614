"""`archivist stop` and the morning reminders, with real daemon processes and a real local HTTP
server standing in for Telegram."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from archivist import notify, workflow
from archivist.config import Config
from archivist.daemon.scheduler import Scheduler
from archivist.index import open_index
from tests.conftest import CONFIG_TEXT, make_archive
from tests.daemon_helpers import Archive
from tests.test_telegram import CHAT, TOKEN, BotAPI, _no_proxy  # noqa: F401 - _no_proxy is an autouse fixture


@pytest.fixture
def two_archives(tmp_path: Path) -> Iterator[tuple[Archive, Archive]]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = Archive(tmp_path / "a"), Archive(tmp_path / "b")
    yield a, b
    a.stop_all()
    b.stop_all()


def test_stop_stops_this_archives_daemon_only(two_archives: tuple[Archive, Archive]) -> None:
    a, b = two_archives
    pa, pb = a.start(), b.start()
    res = a.run("stop")
    assert f"daemon stopped (pid {pa.pid})" in res.stdout
    assert pa.wait(timeout=10) == 0  # it had stopped when `stop` returned: exit status is there
    assert a.status()["running"] is False
    assert b.status()["running"] is True and pb.poll() is None
    again = a.run("stop")
    assert again.returncode == 0 and "no daemon is running" in again.stdout


# -- 12. reminders that come to you -------------------------------------------------------------------


@pytest.fixture
def bot() -> Iterator[BotAPI]:
    """A real HTTP server on 127.0.0.1 standing in for Telegram's Bot API."""
    server = BotAPI()
    yield server
    server.stop()


def reminder_config(tmp_path: Path, port: int, chat: str | None = CHAT, review_time: str = "07:00") -> Config:
    path = tmp_path / "config.yaml"
    chat_line = f'"{chat}"' if chat else "null"
    path.write_text(
        CONFIG_TEXT + f'daemon: {{review_time: "{review_time}"}}\n'
        f"telegram:\n  chat_id: {chat_line}\n  api_base: http://127.0.0.1:{port}\n"
        '  staff_chats: {"07": "7007", "01": 1001}\n',
        encoding="utf-8",
    )
    return make_archive(path)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def scheduler(cfg: Config) -> Scheduler:
    s = Scheduler(cfg, threading.Event())
    s.FIRST_CALL_EVERY = 0.0
    return s


def test_each_staff_member_gets_the_morning_digest_once(tmp_path: Path, bot: BotAPI, persian: None) -> None:
    cfg = reminder_config(tmp_path, bot.port)
    late = workflow.register(cfg, company="شرکت کاوش‌گستر", staff="07", by="07", at=at("2026-11-20T09:00:00+03:30"))
    workflow.register(cfg, company="Reza Trading", staff="02", by="02", at=at("2026-11-23T06:00:00+03:30"))
    open_index(cfg).close()

    before = scheduler(cfg)
    before.tick(now=at("2026-11-23T06:59:00+03:30"))  # before review_time: nothing
    assert not [r for r in bot.requests if "digest" in r["body"]["text"] or "روز شما" in r["body"]["text"]]

    morning = at("2026-11-23T07:05:00+03:30")
    before.tick(now=morning)
    scheduler(cfg).tick(now=morning)  # a restarted daemon, the same morning
    scheduler(cfg).tick(now=at("2026-11-23T09:00:00+03:30"))
    digests = [r["body"] for r in bot.requests if r["body"]["text"].startswith("روز شما")]
    by_chat = {d["chat_id"]: d["text"] for d in digests}
    assert len(digests) == 3 and set(by_chat) == {"7007", "1001", CHAT}  # 07 and 01 privately, 02 in the group
    assert "شرکت کاوش‌گستر" in by_chat["7007"] and late.lead in by_chat["7007"]
    assert "پیگیری‌های معوق (1)" in by_chat["7007"] and "1405-09-02" in by_chat["7007"]
    assert "سارا" in by_chat["7007"] and "Reza Trading" not in by_chat["7007"]
    assert "نه پیگیری معوقی" in by_chat["1001"] and "Reza Karimi (02)" in by_chat[CHAT]
    assert "Reza Trading" not in by_chat[CHAT]  # its first call is due tomorrow 06:00
    assert all(TOKEN not in p.read_text(encoding="utf-8") for p in (cfg.root / ".archivist").rglob("*.json"))


def test_a_first_call_that_passes_is_announced_once_to_its_staff(tmp_path: Path, bot: BotAPI, persian: None) -> None:
    cfg = reminder_config(tmp_path, bot.port, review_time="23:59")
    sched = scheduler(cfg)
    sched.tick(now=at("2026-11-23T09:00:00+03:30"))  # the first look only sets the mark
    rec = workflow.register(cfg, company="شرکت تماس‌نگرفته", staff="07", by="07", at=at("2026-11-22T10:00:00+03:30"))
    called = workflow.register(cfg, company="شرکت تماس‌گرفته", staff="07", by="07", at=at("2026-11-22T10:30:00+03:30"))
    workflow.log_event(cfg, called.lead, kind="call", note="x", by="07", at=at("2026-11-22T11:00:00+03:30"))
    open_index(cfg).close()
    sched.tick(now=at("2026-11-23T09:30:00+03:30"))  # 24 h after 10:00 has not come yet
    assert bot.requests == []
    sched.tick(now=at("2026-11-23T10:45:00+03:30"))
    sched.tick(now=at("2026-11-23T11:00:00+03:30"))
    scheduler(cfg).tick(now=at("2026-11-23T11:10:00+03:30"))
    [msg] = [r["body"] for r in bot.requests]
    assert msg["chat_id"] == "7007" and "تماس اول" in msg["text"] and rec.lead in msg["text"]
    assert "شرکت تماس‌نگرفته" in msg["text"]


def test_conversion_made_while_no_chat_is_kept_and_sent_once_one_is(tmp_path: Path, bot: BotAPI) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG_TEXT + f"telegram:\n  api_base: http://127.0.0.1:{bot.port}\n", encoding="utf-8")
    cfg = make_archive(path)
    rec = workflow.register(cfg, company="شرکت نمونه‌پارس", staff="07", by="07")
    case = workflow.convert(cfg, rec.lead, service="1", by="07").case
    assert notify.flush(cfg, force=True) == 0 and bot.requests == []
    assert len(notify.pending(cfg)) == 1
    cfg = reminder_config(tmp_path, bot.port)  # the group's chat id is set later
    assert notify.flush(cfg, force=True) == 1
    assert notify.flush(cfg, force=True) == 0
    [msg] = [r["body"] for r in bot.requests]
    assert msg["chat_id"] == CHAT and msg["text"] == f"شرکت نمونه‌پارس — {case}"
