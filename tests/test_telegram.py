"""Telegram announcements against a real HTTP server on 127.0.0.1 (SPEC §10).

The server speaks just enough of the Bot API: POST /bot<token>/sendMessage with a JSON body,
answering `{"ok": true, "result": {"message_id": N}}`, or whatever a test scripts (429, 400…).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from archivist import notify, store, workflow
from archivist.config import Config, load_config

from .conftest import CONFIG_TEXT, make_archive

TOKEN = "123456789:AAE-secret-token-for-tests_only"
CHAT = "-1001234567890"
COMPANY = "شرکت نمونه‌پارس"


class BotAPI:
    """A loopback Bot API: records every request; answers from a script, then 200 OK."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict]] = []
        self.next_id = 100
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                api.requests.append({"path": self.path, "body": json.loads(body), "at": time.monotonic()})
                if api.script:
                    status, answer = api.script.pop(0)
                else:
                    api.next_id += 1
                    status, answer = 200, {"ok": True, "result": {"message_id": api.next_id, "text": "…"}}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ARCHIVIST_TELEGRAM_TOKEN", TOKEN)


@pytest.fixture
def api() -> Iterator[BotAPI]:
    server = BotAPI()
    yield server
    server.stop()


def telegram_config(tmp_path: Path, port: int, chat: str | None = CHAT, init: bool = True) -> Path:
    path = tmp_path / "config.yaml"
    chat_line = f'"{chat}"' if chat else "null"
    path.write_text(
        CONFIG_TEXT + f"telegram:\n  chat_id: {chat_line}\n  token_env: ARCHIVIST_TELEGRAM_TOKEN\n"
        f"  api_base: http://127.0.0.1:{port}\n",
        encoding="utf-8",
    )
    if init:
        make_archive(path)
    return path


def converted(cfg: Config, company: str = COMPANY) -> str:
    rec = workflow.register(cfg, company=company, staff="07", by="07")
    return workflow.convert(cfg, rec.lead, service="1", by="07").case or ""


def waiting(cfg: Config) -> list[Path]:
    return notify.pending(cfg)


def sent_records(cfg: Config) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(notify.sent_dir(cfg).glob("*.json"))]


def test_conversion_posted_once_with_company_and_case(tmp_path: Path, api: BotAPI) -> None:
    cfg = load_config(telegram_config(tmp_path, api.port))
    case = converted(cfg)
    assert len(waiting(cfg)) == 1 and not api.requests  # the outbox first, nothing sent yet

    assert notify.flush(cfg) == 1
    assert len(api.requests) == 1
    req = api.requests[0]
    assert req["path"] == f"/bot{TOKEN}/sendMessage"
    assert req["body"] == {"chat_id": CHAT, "text": f"{COMPANY} — {case}"}

    assert notify.flush(cfg) == 0 and notify.flush(cfg, force=True) == 0
    assert len(api.requests) == 1  # never twice
    assert waiting(cfg) == []
    [record] = sent_records(cfg)
    assert record["message_id"] == 101 and record["case"] == case and record["text"] == f"{COMPANY} — {case}"
    assert not list(notify.outbox_dir(cfg).glob("*.sending"))


def test_server_down_message_waits_in_outbox_and_goes_out_when_it_returns(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet
    cfg = load_config(telegram_config(tmp_path, port))
    case = converted(cfg)

    assert notify.flush(cfg, tries=2, delay=0.01) == 0
    [left] = waiting(cfg)
    state = json.loads(left.read_text(encoding="utf-8"))
    assert state["text"] == f"{COMPANY} — {case}" and state["attempts"] == 1 and state["last_error"]
    assert notify.outbox_state(cfg)["waiting"] == 1

    server = BotAPI(port)  # the network is back, and archivist was restarted in between
    try:
        cfg = load_config(telegram_config(tmp_path, port))
        assert notify.flush(cfg) == 0  # backing off: the daemon's frequent calls do not hammer
        assert server.requests == []
        assert notify.flush(cfg, force=True) == 1  # what `notify flush` does
        assert [r["body"]["text"] for r in server.requests] == [f"{COMPANY} — {case}"]
        assert waiting(cfg) == [] and len(sent_records(cfg)) == 1
    finally:
        server.stop()


def test_rate_limit_retry_after_is_honoured(tmp_path: Path, api: BotAPI) -> None:
    cfg = load_config(telegram_config(tmp_path, api.port))
    converted(cfg)
    api.script.append(
        (
            429,
            {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}},
        )
    )
    assert notify.flush(cfg) == 1
    assert len(api.requests) == 2
    waited = api.requests[1]["at"] - api.requests[0]["at"]
    assert waited >= 1.0, f"retried after {waited:.2f} s although Telegram asked for 1 s"
    assert len(sent_records(cfg)) == 1 and waiting(cfg) == []


def test_long_retry_after_postpones_instead_of_blocking(tmp_path: Path, api: BotAPI) -> None:
    cfg = load_config(telegram_config(tmp_path, api.port))
    converted(cfg)
    converted(cfg, "شرکت دوم")
    api.script.append((429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 3600}}))
    assert notify.flush(cfg) == 0
    assert len(api.requests) == 1  # the second message was not tried against a rate limit
    first = json.loads(waiting(cfg)[0].read_text(encoding="utf-8"))
    assert first["next_try"] - time.time() > 3000
    assert notify.flush(cfg) == 0 and len(api.requests) == 1


def test_token_in_no_file_under_the_root_and_in_no_log_line(
    tmp_path: Path, api: BotAPI, cli_factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = telegram_config(tmp_path, api.port)
    cfg = load_config(config)
    converted(cfg)
    converted(cfg, "شرکت دوم")
    converted(cfg, "شرکت سوم")
    # a refusal whose description echoes the request URL, a 429, then a success
    api.script += [
        (400, {"ok": False, "error_code": 400, "description": f"Bad Request: /bot{TOKEN}/sendMessage"}),
        (429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 0}}),
    ]
    code, out, err = cli_factory(config)("notify", "flush")
    assert code == 0
    assert "sent 2; 1 waiting" in out and "<token>" in out
    assert notify.flush(load_config(telegram_config(tmp_path, free_port())), force=True, tries=1) == 0  # offline

    assert len(api.requests) == 4
    assert TOKEN not in out + err
    assert TOKEN not in caplog.text
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert TOKEN.encode() not in p.read_bytes(), p
            assert b"secret-token" not in p.read_bytes(), p


def test_crash_after_send_before_bookkeeping_does_not_send_again(tmp_path: Path, api: BotAPI) -> None:
    cfg = load_config(telegram_config(tmp_path, api.port))
    converted(cfg)
    [item] = waiting(cfg)
    # the state a crash leaves after `sent/` was written but before the waiting file was removed
    notify.sent_dir(cfg).mkdir(parents=True)
    data = json.loads(item.read_text(encoding="utf-8")) | {"message_id": 77}
    (notify.sent_dir(cfg) / item.name).write_text(json.dumps(data), encoding="utf-8")
    item.with_suffix(".sending").write_text("{}", encoding="utf-8")

    assert notify.flush(cfg, force=True) == 0
    assert api.requests == [] and waiting(cfg) == []
    assert [r["message_id"] for r in sent_records(cfg)] == [77]


def test_crash_during_the_request_resends_and_says_so(tmp_path: Path, api: BotAPI, caplog: pytest.LogCaptureFixture) -> None:
    cfg = load_config(telegram_config(tmp_path, api.port))
    converted(cfg)
    [item] = waiting(cfg)
    item.with_suffix(".sending").write_text('{"attempt": 1}', encoding="utf-8")  # died mid-request

    assert notify.flush(cfg) == 1
    assert len(api.requests) == 1
    assert "may be a duplicate" in caplog.text
    [record] = sent_records(cfg)
    assert record["resent_after_crash"] is True


def test_disabled_cleanly_when_not_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_factory) -> None:
    config = telegram_config(tmp_path, free_port(), chat=None)
    cfg = load_config(config)
    converted(cfg)
    assert len(waiting(cfg)) == 1  # kept (issue 16): it goes out once a chat is configured
    code, out, _ = cli_factory(config)("notify", "flush")
    assert code == 0 and "Telegram is off" in out and "chat_id" in out

    # chat configured but the token variable missing: messages wait, nothing crashes
    config = telegram_config(tmp_path, free_port())
    monkeypatch.delenv("ARCHIVIST_TELEGRAM_TOKEN")
    cfg = load_config(config)
    converted(cfg, "شرکت دوم")
    assert len(waiting(cfg)) == 2  # the one made while no chat was set waits too (issue 16)
    assert notify.flush(cfg) == 0
    code, out, _ = cli_factory(config)("notify", "flush", "--json")
    state = json.loads(out)
    assert code == 0 and state["waiting"] == 2 and state["sent_now"] == 0
    assert "export ARCHIVIST_TELEGRAM_TOKEN" in state["disabled"]


def test_token_in_config_is_refused(tmp_path: Path) -> None:
    from archivist.errors import ConfigError

    path = tmp_path / "config.yaml"
    path.write_text(CONFIG_TEXT + f"telegram:\n  chat_id: '{CHAT}'\n  token: '{TOKEN}'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert TOKEN not in str(e.value)


def test_template_with_an_unknown_placeholder_refused_at_load(tmp_path: Path, cli_factory) -> None:
    from archivist.errors import ConfigError

    path = telegram_config(tmp_path, free_port(), init=False)
    path.write_text(path.read_text(encoding="utf-8") + "  template: '{company} — {case_code}'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    message = str(e.value)
    assert "'telegram.template'" in message and str(path) in message
    assert "{case_code}" in message and "{company}, {case}, {lead}" in message
    code, _out, err = cli_factory(path)("register", "--company", COMPANY, "--staff", "07", "--yes")
    assert code == 1 and "Traceback" not in err and "telegram.template" in err
    assert not (tmp_path / "archive" / "applicants").exists()


class Crash(BaseException):
    """The process dying at this point (power cut, kill -9)."""


def _die(*_args: object) -> None:
    raise Crash


def test_crash_before_the_conversion_is_saved_announces_nothing(
    tmp_path: Path, api: BotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = load_config(telegram_config(tmp_path, api.port))
    rec = workflow.register(cfg, company=COMPANY, staff="07", by="07")
    with monkeypatch.context() as m:
        m.setattr(store, "write_record", _die)
        with pytest.raises(Crash):
            workflow.convert(cfg, rec.lead, service="1", by="07")
    [item] = waiting(cfg)  # queued ahead of the save
    assert workflow.show(cfg, rec.lead).case is None  # but the conversion never reached the disk

    assert notify.flush(cfg, force=True) == 0 and api.requests == []  # it may be being saved: wait
    assert waiting(cfg) == [item]
    monkeypatch.setattr(notify, "CONFIRM_GRACE", 0.0)
    assert notify.flush(cfg, force=True) == 0 and api.requests == []
    assert waiting(cfg) == [] and [p.name for p in notify.unconfirmed_dir(cfg).iterdir()] == [item.name]
    assert notify.outbox_state(cfg)["unconfirmed"] == 1

    case = workflow.convert(cfg, rec.lead, service="1", by="07").case  # done again, for real
    assert notify.flush(cfg) == 1
    assert [r["body"]["text"] for r in api.requests] == [f"{COMPANY} — {case}"]


def test_crash_after_the_conversion_is_saved_still_announces_it(
    tmp_path: Path, api: BotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = load_config(telegram_config(tmp_path, api.port))
    rec = workflow.register(cfg, company=COMPANY, staff="07", by="07")
    with monkeypatch.context() as m:
        m.setattr(store, "move", _die)  # the log says case 1001, the folder is still in applicants/
        with pytest.raises(Crash):
            workflow.convert(cfg, rec.lead, service="1", by="07")
    assert workflow.show(cfg, rec.lead).case == "1001"
    assert len(waiting(cfg)) == 1

    monkeypatch.setattr(notify, "CONFIRM_GRACE", 0.0)
    assert notify.flush(cfg) == 1
    assert [r["body"]["text"] for r in api.requests] == [f"{COMPANY} — 1001"]
    assert waiting(cfg) == [] and not notify.unconfirmed_dir(cfg).exists()


@pytest.fixture
def cli_factory(capsys: pytest.CaptureFixture[str]):
    """Run the CLI in-process against a given config file: (exit code, stdout, stderr)."""
    from archivist.cli import main

    def make(config: Path):
        def run(*args: str) -> tuple[int, str, str]:
            capsys.readouterr()
            code = main(["--config", str(config), *args])
            out, err = capsys.readouterr()
            return code, out, err

        return run

    return make
