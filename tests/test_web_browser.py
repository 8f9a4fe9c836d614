"""The web app in a real browser: Debian's chromium driven by Playwright, the server under uvicorn
on a loopback port — what a staff member on an office PC does, end to end."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright import sync_api

from archivist import users, workflow
from archivist.config import Config, load_config
from archivist.record import LOG_NAME, load_record
from archivist.web import create_app

CHROMIUM = os.environ.get("ARCHIVIST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "kimia-1405-pass"

if not shutil.which(CHROMIUM):
    pytest.fail(f"no chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does)", pytrace=False)


@pytest.fixture
def archive(config_file: Path) -> Config:
    from archivist.cli import main

    assert main(["--config", str(config_file), "init"]) == 0
    cfg = load_config(config_file)
    rec = workflow.register(
        cfg,
        company="شرکت کاشی کیمیا",
        staff="02",
        by="02",
        contact={"person": "خانم نیک‌پور", "mobile": "۰۹۱۲ ۳۴۵ ۶۷۸۹", "email": "sales@kashi-kimia.ir"},
        services=["ISO certification"],
        requests=["پیش‌فاکتور"],
    )
    workflow.log_event(cfg, rec.lead, kind="note", note="نمونه کاشی‌ها برای آزمایشگاه ارسال شد", by="02")
    workflow.register(cfg, company="صنایع فولاد مبارکه", staff="01", by="01")
    users.add_user(cfg, "02", PASSWORD)
    return cfg


@pytest.fixture
def server(archive: Config) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, in a thread; stopped after the test."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(archive), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(600):
        if srv.started:
            started.set()
            break
        if not thread.is_alive():
            break
        threading.Event().wait(0.05)
    assert started.is_set(), "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=20)
        sock.close()


@pytest.fixture
def page(server: str) -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1100}, locale="fa-IR", base_url=server)
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        try:
            yield pg
        finally:
            context.close()
            browser.close()


def test_staff_02_finds_a_record_logs_a_call_and_drops_a_pdf(page, archive: Config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    expect = sync_api.expect
    pg = page
    pg.goto("/")
    assert "/login" in pg.url
    pg.fill("input[name=staff]", "۰۲")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url("**/")

    # search as you type, with the Arabic ك and ي an Arabic keyboard layout produces
    pg.locator("#q").press_sequentially("كاشي كيم", delay=60)
    hit = pg.locator("#results a.company", has_text="شرکت کاشی کیمیا")
    expect(hit).to_be_visible()
    expect(pg.locator("#results a.company", has_text="فولاد")).to_have_count(0)
    hit.click()
    pg.wait_for_url("**/records/00001")

    # Persian reads right to left: the page, the company name and the notes
    assert pg.evaluate("document.documentElement.dir") == "rtl"
    assert pg.evaluate("document.documentElement.lang") == "fa"
    for selector in ("#company", "#timeline .note"):
        el = pg.locator(selector).first
        assert el.evaluate("e => e.matches(':dir(rtl)')"), selector
        assert el.evaluate("e => getComputedStyle(e).direction") == "rtl", selector
    expect(pg.locator("a[href='tel:۰۹۱۲۳۴۵۶۷۸۹'], a[href^='tel:']").first).to_be_visible()

    # log a call through the form the shared action list builds
    pg.click("#action-log summary")
    pg.select_option("#action-log select[name=kind]", "call")
    pg.fill("#action-log textarea[name=note]", "تماس گرفته شد؛ قرارداد هفته بعد")
    pg.click("#action-log button[type=submit]")
    expect(pg.locator(".flash.ok")).to_be_visible()
    folder = next((archive.root / "applicants").glob("* - 00001"))
    log = yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))
    last = log["events"][-1]
    assert (last["kind"], last["by"], last["note"]) == ("call", "02", "تماس گرفته شد؛ قرارداد هفته بعد")

    # drop a PDF onto the upload box (a real drop event carrying a File, as a drag from Explorer does)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    with pg.expect_navigation():
        pg.evaluate(
            """([name, bytes]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], name, {type: "application/pdf"}));
            const zone = document.querySelector("form.dropzone");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""",
            ["پیش‌فاکتور امضا شده.pdf", list(pdf)],
        )
    assert (folder / "پیش‌فاکتور امضا شده.pdf").read_bytes() == pdf
    expect(pg.locator("#files a", has_text="پیش‌فاکتور امضا شده.pdf").first).to_be_visible()
    expect(pg.locator("#timeline .event.k-filed .note", has_text="پیش‌فاکتور امضا شده.pdf")).to_be_visible()
    filed = load_record(folder).events[-1]
    assert (filed["kind"], filed["by"]) == ("filed", "02")

    shot = Path(os.environ.get("ARCHIVIST_WEB_SCREENSHOT") or tmp_path / "web-record.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_no_script_is_blocked_by_the_content_security_policy(page) -> None:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/login")
    page.fill("input[name=staff]", "02")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    page.locator("#q").press_sequentially("فولاد", delay=40)
    sync_api.expect(page.locator("#results a.company", has_text="صنایع فولاد مبارکه")).to_be_visible()
    page.goto("/records/00001")
    page.goto("/day")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_register_shows_the_returning_company_as_typed_and_saves_after_confirming(page, archive: Config) -> None:  # type: ignore[no-untyped-def]
    expect = sync_api.expect
    pg = page
    pg.goto("/login")
    pg.fill("input[name=staff]", "02")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url("**/")
    pg.goto("/register")
    pg.locator("input[name=company]").press_sequentially("شركت كاشي كيميا", delay=30)
    expect(pg.locator("#check .returning a", has_text="۰۰۰۰۱")).to_be_visible()  # before anything is saved
    assert not list((archive.root / "applicants").glob("* - 00003"))
    pg.click("form.register button[type=submit]")
    expect(pg.locator("input[name=confirm]")).to_be_visible()
    pg.check("input[name=confirm]")
    pg.click("form.register button[type=submit]")
    pg.wait_for_url("**/records/00003")
    expect(pg.locator("#company")).to_have_text("شرکت کاشی کیمیا")
    rec = load_record(next((archive.root / "applicants").glob("* - 00003")))
    assert rec.related == ["00001"] and rec.events[0]["by"] == "02"
