"""The web app over plain HTTP (Starlette's TestClient): every route, login, CSRF, files, API.

Real archives in tmp_path, real users.yaml with argon2 hashes, the real ASGI app; the browser
tests (test_web_browser.py) drive the same app through uvicorn and chromium.
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from archivist import users, workflow
from archivist.config import Config, load_config
from archivist.record import LOG_NAME, load_record
from archivist.web import create_app
from archivist.web.security import COOKIE, LoginThrottle

PASSWORD = "kimia-1405-pass"
ADMIN_PASSWORD = "admin-pass-01"

PAGE_ROUTES = [
    "/",
    "/?q=x",
    "/day",
    "/master",
    "/master.csv",
    "/master.xlsx",
    "/register",
    "/records/00001",
    "/records/00001/files/F-31-08-01.yaml",
]
API_ROUTES = ["/api/search?q=x", "/api/due", "/api/actions", "/api/records/00001", "/api/records/00001/actions"]
POST_ROUTES = ["/logout", "/register", "/register/check", "/records/00001/actions/log", "/records/00001/upload"]


@pytest.fixture
def web_cfg(config_file: Path) -> Config:
    text = config_file.read_text(encoding="utf-8") + "web:\n  max_upload_mb: 1\n  session_minutes: 5\n"
    config_file.write_text(text, encoding="utf-8")
    cfg = load_config(config_file)
    from archivist.cli import main

    assert main(["--config", str(config_file), "init"]) == 0
    workflow.register(
        cfg,
        company="شرکت کاشی کیمیا",
        staff="02",
        by="02",
        contact={"person": "آقای رضایی", "mobile": "0912 123 4567", "email": "info@kimia.ir"},
        services=["3"],
    )
    workflow.register(cfg, company="Parsian Steel", staff="01", by="01")
    users_file = users.users_path(cfg)
    users_file.write_text(_accounts_text(), encoding="utf-8")  # hashed once per run: argon2 is slow on purpose
    users_file.chmod(0o600)
    return cfg


@functools.lru_cache(maxsize=1)
def _accounts_text() -> str:
    from argon2 import PasswordHasher

    h = PasswordHasher()
    return yaml.safe_dump(
        {
            "users": {
                "01": {"password": h.hash(ADMIN_PASSWORD), "admin": True},
                "02": {"password": h.hash(PASSWORD), "admin": False},
            }
        }
    )


@pytest.fixture
def client(web_cfg: Config) -> Iterator[TestClient]:
    with TestClient(create_app(web_cfg, throttle=LoginThrottle(step=0.0), reconcile_seconds=0), follow_redirects=False) as c:
        yield c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF token"
    return m.group(1)


def log_in(c: TestClient, staff: str = "02", password: str = PASSWORD) -> str:
    """Log in through the login form; returns a CSRF token of the new session."""
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"staff": staff, "password": password, "csrf_token": token})
    assert r.status_code == 303, r.text
    return csrf_of(c.get("/register").text)


def folder_of(cfg: Config, code: str) -> Path:
    from archivist import store

    return store.locate(cfg, code)


# -- not logged in ------------------------------------------------------------------------------------


def test_every_page_redirects_to_login_and_every_api_route_answers_401(client: TestClient) -> None:
    for route in PAGE_ROUTES:
        r = client.get(route)
        assert r.status_code == 303, route
        assert r.headers["location"].startswith("/login?next="), route
    for route in API_ROUTES:
        r = client.get(route)
        assert r.status_code == 401, route
        assert "error" in r.json()
    for route in POST_ROUTES:
        r = client.post(route, data={"note": "x"})
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), route
    assert client.post("/api/records/00001/actions/log", json={"kind": "call", "note": "x"}).status_code == 401
    # search as you type after the session ended: htmx is told to load the login page, not swap it in
    r = client.get("/?q=x", headers={"HX-Request": "true", "HX-Target": "results"})
    assert r.status_code == 401 and r.headers["hx-redirect"].startswith("/login?next=")


def test_login_page_is_persian_rtl_and_redirects_back(client: TestClient) -> None:
    r = client.get("/login?next=/records/00001")
    assert '<html lang="fa" dir="rtl">' in r.text
    token = csrf_of(r.text)
    r = client.post("/login", data={"staff": "۰۲", "password": PASSWORD, "csrf_token": token, "next": "/records/00001"})
    assert r.status_code == 303 and r.headers["location"] == "/records/00001"
    page = client.get("/records/00001")
    assert page.status_code == 200
    assert "شرکت کاشی کیمیا" in page.text
    assert "۰۰۰۰۱" in page.text  # codes shown in Persian digits


def test_login_next_cannot_leave_the_site(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"staff": "02", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"})
    assert r.headers["location"] == "/"


def test_login_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    r = client.post("/login", data={"staff": "02", "password": PASSWORD})
    assert r.status_code == 403
    r = client.post("/login", data={"staff": "02", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403


def test_form_without_valid_csrf_is_refused_and_writes_nothing(client: TestClient, web_cfg: Config) -> None:
    log_in(client)
    before = (folder_of(web_cfg, "00001") / LOG_NAME).read_bytes()
    assert client.post("/records/00001/actions/log", data={"kind": "call", "note": "x"}).status_code == 403
    assert (
        client.post("/records/00001/actions/log", data={"kind": "call", "note": "x", "csrf_token": "not-the-token"}).status_code
        == 403
    )
    r = client.post(
        "/records/00001/upload", data={"csrf_token": "nope"}, files={"files": ("a.pdf", b"%PDF-1.4", "application/pdf")}
    )
    assert r.status_code == 403
    assert (folder_of(web_cfg, "00001") / LOG_NAME).read_bytes() == before
    assert not (folder_of(web_cfg, "00001") / "a.pdf").exists()


def test_eleventh_bad_password_in_a_minute_gets_429_even_with_the_right_one(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    codes = [
        client.post("/login", data={"staff": "02", "password": f"wrong-{i}", "csrf_token": token}).status_code for i in range(10)
    ]
    assert codes == [401] * 10
    r = client.post("/login", data={"staff": "02", "password": "wrong-again", "csrf_token": token})
    assert r.status_code == 429
    assert r.headers["retry-after"] == "60"
    # refused before the password is even checked: the right one does not get through either
    assert client.post("/login", data={"staff": "02", "password": PASSWORD, "csrf_token": token}).status_code == 429


def test_failures_from_one_address_against_many_accounts_are_refused_too() -> None:
    t = LoginThrottle(step=0.0)
    for i in range(10):
        t.failed([f"staff:{i:02d}", "addr:10.0.0.9"])
    assert t.refused(["staff:55", "addr:10.0.0.9"])
    assert not t.refused(["staff:55", "addr:10.0.0.10"])


def test_repeated_failures_are_slowed_before_they_are_refused() -> None:
    t = LoginThrottle()
    delays = [t.failed(["staff:02", "addr:x"]) for _ in range(6)]
    assert delays[:3] == [0, 0, 0]
    assert 0 < delays[3] < delays[4] < delays[5]


def test_password_file_holds_no_plaintext_and_is_private(web_cfg: Config) -> None:
    path = users.users_path(web_cfg)
    assert path.parent == web_cfg.path.parent  # next to config.yaml, outside the derived .archivist/
    text = path.read_text(encoding="utf-8")
    assert PASSWORD not in text and ADMIN_PASSWORD not in text
    data = yaml.safe_load(text)
    assert data["users"]["02"]["password"].startswith("$argon2id$")
    assert (path.stat().st_mode & 0o077) == 0


def test_session_cookie_is_httponly_samesite_and_signed(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"staff": "02", "password": PASSWORD, "csrf_token": token})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    value = client.cookies[COOKIE]
    client.cookies.set(COOKIE, value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert client.get("/").status_code == 303  # a tampered cookie is no session


def test_idle_session_expires(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import itsdangerous.timed as timed

    real = timed.time.time
    monkeypatch.setattr(timed.time, "time", lambda: real() - 6 * 60)  # signed 6 minutes ago; limit is 5
    log_in(client)
    client.get("/")  # the last request, also 6 minutes ago
    monkeypatch.setattr(timed.time, "time", real)
    r = client.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert "نشست شما به پایان رسید" in client.get(r.headers["location"]).text


def test_password_change_ends_existing_sessions(client: TestClient, web_cfg: Config) -> None:
    log_in(client)
    assert client.get("/").status_code == 200
    users.set_password(web_cfg, "02", "a-brand-new-password")
    assert client.get("/").status_code == 303


# -- search ------------------------------------------------------------------------------------------


def test_search_with_arabic_letters_finds_the_persian_company(client: TestClient) -> None:
    log_in(client)
    r = client.get("/", params={"q": "كاشي كيميا"})  # Arabic ك and ي as typed on an Arabic keyboard
    assert r.status_code == 200
    assert "شرکت کاشی کیمیا" in r.text
    assert 'href="/records/00001"' in r.text
    assert "Parsian Steel" not in r.text


def test_search_as_you_type_returns_only_the_results_fragment(client: TestClient) -> None:
    log_in(client)
    r = client.get("/", params={"q": "کاشی"}, headers={"HX-Request": "true", "HX-Target": "results"})
    assert "<html" not in r.text
    assert "شرکت کاشی کیمیا" in r.text


def test_search_ranks_like_the_cli_search(client: TestClient, web_cfg: Config, cli) -> None:  # type: ignore[no-untyped-def]
    import json

    log_in(client)
    code, out, _ = cli("search", "--json", "۰۰۰۰۲")
    assert code == 0
    expected = [h["lead"] for h in json.loads(out)]
    got = [h["lead"] for h in client.get("/api/search", params={"q": "۰۰۰۰۲", "scope": "all"}).json()["results"]]
    assert got == expected == ["00002"]


def test_empty_query_lists_my_open_records_most_urgent_first(client: TestClient, web_cfg: Config) -> None:
    from datetime import timedelta

    from archivist.dates import now

    rec = workflow.register(web_cfg, company="شرکت فوری", staff="02", by="02")
    workflow.set_followup(web_cfg, rec.lead, when=now(web_cfg.timezone) - timedelta(days=2), by="02")
    log_in(client)
    r = client.get("/")
    leads = re.findall(r'<td class="code"><a href="/records/(\d+)"', r.text)
    assert leads == [rec.lead, "00001"]  # overdue first; 00002 belongs to staff 01


def test_filters_stage_staff_and_archived(client: TestClient) -> None:
    log_in(client)
    r = client.get("/api/search", params={"staff": "01", "scope": "all"}).json()
    assert [h["lead"] for h in r["results"]] == ["00002"]
    r = client.get("/api/search", params={"status": "following", "scope": "all"}).json()
    assert r["results"] == []
    bad = client.get("/api/search", params={"status": "nonsense"})
    # the domain's message in the reader's language (ui.language fa here): it names the bad value
    assert bad.status_code == 400 and "'nonsense'" in bad.json()["error"]


# -- record page and actions ------------------------------------------------------------------------


def test_record_page_shows_contact_links_and_only_allowed_actions(client: TestClient) -> None:
    log_in(client)
    html = client.get("/records/00001").text
    assert 'href="tel:09121234567"' in html
    assert 'href="mailto:info@kimia.ir"' in html
    forms = set(re.findall(r'action="/records/00001/actions/(\w+)"', html))
    assert forms == {"log", "followup", "convert", "decline"}
    assert "پیش از CRM بایگانی مجاز نیست" in html  # the procedure's reason the archive action is not offered


def test_convert_form_preselects_the_requested_service(client: TestClient) -> None:
    log_in(client)
    html = client.get("/records/00001").text
    form = html.split('action="/records/00001/actions/convert"')[1].split("</form>")[0]
    assert re.search(r'<option value="3" selected>Training</option>', form)


def test_log_a_call_writes_the_event_by_the_logged_in_staff(client: TestClient, web_cfg: Config) -> None:
    token = log_in(client)
    r = client.post("/records/00001/actions/log", data={"kind": "call", "note": "پیش‌فاکتور خواستند", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/records/00001"
    raw = yaml.safe_load((folder_of(web_cfg, "00001") / LOG_NAME).read_text(encoding="utf-8"))
    ev = raw["events"][-1]
    assert (ev["kind"], ev["by"], ev["note"]) == ("call", "02", "پیش‌فاکتور خواستند")
    assert raw["status"] == "following"
    page = client.get("/records/00001").text
    assert "پیش‌فاکتور خواستند" in page


def test_a_refused_action_shows_the_procedures_reason(client: TestClient, web_cfg: Config) -> None:
    token = log_in(client)
    r = client.post("/records/00001/actions/archive", data={"note": "", "csrf_token": token})
    assert r.status_code == 400
    assert "پیش از CRM بایگانی مجاز نیست" in r.text
    assert load_record(folder_of(web_cfg, "00001")).status == "new"


def test_convert_through_the_web_moves_the_folder_and_records_who(client: TestClient, web_cfg: Config) -> None:
    token = log_in(client)
    r = client.post("/records/00001/actions/convert", data={"service": "3", "note": "", "csrf_token": token})
    assert r.status_code == 303
    case = r.headers["location"].rsplit("/", 1)[1]
    assert case.startswith("3") and len(case) == 4
    rec = load_record(folder_of(web_cfg, case))
    assert rec.events[-1]["kind"] == "converted" and rec.events[-1]["by"] == "02"
    assert client.get(f"/records/{case}").status_code == 200
    assert client.get("/records/00001").status_code == 200  # the applicant code still finds it


def test_unknown_record_and_action_are_404(client: TestClient) -> None:
    token = log_in(client)
    assert client.get("/records/99999").status_code == 404
    assert client.get("/records/abc").status_code == 404
    assert client.post("/records/00001/actions/explode", data={"csrf_token": token}).status_code == 404


# -- files ---------------------------------------------------------------------------------------------


def test_upload_goes_into_the_folder_with_the_inbox_clash_rule_and_a_filed_event(client: TestClient, web_cfg: Config) -> None:
    token = log_in(client)
    pdf = b"%PDF-1.4\n% test\n"
    for _ in range(2):
        r = client.post(
            "/records/00001/upload", data={"csrf_token": token}, files={"files": ("قرارداد امضا شده.pdf", pdf, "application/pdf")}
        )
        assert r.status_code == 303
    folder = folder_of(web_cfg, "00001")
    assert (folder / "قرارداد امضا شده.pdf").read_bytes() == pdf
    assert (folder / "قرارداد امضا شده (2).pdf").read_bytes() == pdf
    assert not [p for p in os.listdir(folder) if p.startswith(".")]  # no temp file left behind
    events = load_record(folder).events
    assert [(e["kind"], e["by"], e["note"]) for e in events[-2:]] == [
        ("filed", "02", "قرارداد امضا شده.pdf"),
        ("filed", "02", "قرارداد امضا شده (2).pdf"),
    ]
    page = client.get("/records/00001").text
    assert "قرارداد امضا شده (2).pdf" in page


def test_upload_over_the_size_limit_is_refused_and_leaves_nothing(client: TestClient, web_cfg: Config) -> None:
    token = log_in(client)
    big = b"x" * (1024 * 1024 + 200_000)  # web.max_upload_mb: 1
    r = client.post("/records/00001/upload", data={"csrf_token": token}, files={"files": ("big.bin", big, "x/y")})
    assert r.status_code == 413
    folder = folder_of(web_cfg, "00001")
    assert sorted(os.listdir(folder)) == [LOG_NAME]


def test_upload_names_are_repaired_and_the_log_name_refused(client: TestClient, web_cfg: Config) -> None:
    token = log_in(client)
    r = client.post(
        "/records/00001/upload",
        data={"csrf_token": token},
        files={"files": ("C:\\fakepath\\..\\نامه|اول?.pdf", b"%PDF", "application/pdf")},
    )
    assert r.status_code == 303
    folder = folder_of(web_cfg, "00001")
    assert (folder / "نامه-اول-.pdf").exists()
    r = client.post("/records/00001/upload", data={"csrf_token": token}, files={"files": (LOG_NAME, b"form: x", "text/yaml")})
    assert r.status_code == 400
    assert load_record(folder).company == "شرکت کاشی کیمیا"


def test_file_routes_never_leave_the_record_folder(client: TestClient, web_cfg: Config, tmp_path: Path) -> None:
    log_in(client)
    folder = folder_of(web_cfg, "00001")
    (folder / "offer.pdf").write_bytes(b"%PDF-1.4 offer")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (folder / "link.txt").symlink_to(secret)
    (folder / "inner").mkdir()
    (folder / "inner" / "photo.png").write_bytes(b"\x89PNG\r\n")

    ok = client.get("/records/00001/files/offer.pdf")
    assert ok.status_code == 200 and ok.content == b"%PDF-1.4 offer"
    assert ok.headers["content-disposition"].startswith("attachment")
    inline = client.get("/records/00001/files/offer.pdf?inline=1")
    assert inline.headers["content-disposition"].startswith("inline")
    assert inline.headers["content-type"] == "application/pdf"
    assert client.get("/records/00001/files/inner/photo.png").status_code == 200
    for bad in (
        "..%2F..%2Fregistry.yaml",
        "..%2F..%2F..%2Fconfig.yaml",
        "link.txt",
        "%2Fetc%2Fpasswd",
        "inner%2F..%2F..%2F..%2Fregistry.yaml",
        "..%5C..%5Cregistry.yaml",
        "nothing.pdf",
        "inner",
    ):
        r = client.get(f"/records/00001/files/{bad}")
        assert r.status_code == 404, bad
        assert "outside" not in r.text and "registry" not in r.text.lower().split("<title>")[0]


def test_html_uploads_are_never_served_inline(client: TestClient, web_cfg: Config) -> None:
    log_in(client)
    (folder_of(web_cfg, "00001") / "page.html").write_text("<script>alert(1)</script>")
    r = client.get("/records/00001/files/page.html?inline=1")
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.headers["x-content-type-options"] == "nosniff"


# -- register, my day, master list ------------------------------------------------------------------


def test_register_warns_about_a_returning_company_then_links_it(client: TestClient, web_cfg: Config) -> None:
    token = log_in(client)
    check = client.post("/register/check", data={"company": "شركت كاشي كيميا", "csrf_token": token})
    assert "00001" in check.text and "<html" not in check.text
    form = {"company": "شركت كاشي كيميا", "staff": "02", "mobile": "", "csrf_token": token}
    first = client.post("/register", data=form)
    assert first.status_code == 200 and 'name="confirm"' in first.text  # shown before saving, nothing saved
    assert not list((web_cfg.root / "applicants").glob("* - 00003"))
    r = client.post("/register", data={**form, "confirm": "yes"})
    assert r.status_code == 303 and r.headers["location"] == "/records/00003"
    rec = load_record(folder_of(web_cfg, "00003"))
    assert rec.related == ["00001"]
    assert rec.company == "شرکت کاشی کیمیا"  # stored with Persian letters
    assert rec.events[0]["by"] == "02"


def test_register_validates_as_typed(client: TestClient) -> None:
    token = log_in(client)
    r = client.post("/register/check", data={"company": "شرکت تازه", "mobile": "abc", "csrf_token": token})
    assert "شماره تلفن به نظر نمی‌رسد" in r.text
    r = client.post("/register", data={"company": "", "csrf_token": token})
    assert r.status_code == 400


def test_my_day_shows_due_lists_and_office_health(client: TestClient, web_cfg: Config) -> None:
    (web_cfg.root / "inbox" / "scan without code.pdf").write_bytes(b"%PDF")
    log_in(client)
    r = client.get("/day")
    assert r.status_code == 200
    for part in ('id="due-overdue"', 'id="due-today"', 'id="due-stuck"', 'id="office"'):
        assert part in r.text
    assert "فایل‌های بایگانی‌نشده صندوق ورودی: ۱" in r.text
    assert "اجرا نمی‌شود" in r.text  # no daemon in this test


def test_master_list_page_and_exports(client: TestClient) -> None:
    log_in(client)
    page = client.get("/master")
    assert "F-31-08-02" in page.text and 'href="/master.xlsx"' in page.text and 'href="/master.csv"' in page.text
    csv = client.get("/master.csv")
    assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
    assert "شرکت کاشی کیمیا" in csv.content.decode("utf-8-sig")
    xlsx = client.get("/master.xlsx")
    assert xlsx.content[:2] == b"PK"
    assert client.get("/master.pdf").status_code == 404


# -- API -----------------------------------------------------------------------------------------------


def test_api_with_a_token_acts_as_its_staff_member(client: TestClient, web_cfg: Config) -> None:
    token = users.new_token(web_cfg, "02")
    assert token not in users.users_path(web_cfg).read_text()
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/records/00001", headers=h).json()["company"] == "شرکت کاشی کیمیا"
    r = client.post("/api/records/00001/actions/log", headers=h, json={"kind": "note", "note": "from a script"})
    assert r.status_code == 200 and r.json()["ok"]
    ev = load_record(folder_of(web_cfg, "00001")).events[-1]
    assert (ev["by"], ev["kind"], ev["note"]) == ("02", "note", "from a script")
    refused = client.post("/api/records/00001/actions/archive", headers=h, json={})
    assert refused.status_code == 400 and "پیش از CRM بایگانی مجاز نیست" in refused.json()["error"]
    assert client.get("/api/due", headers=h).json().keys() == {"overdue", "today", "stuck"}
    assert {a["name"] for a in client.get("/api/actions", headers=h).json()} >= {"log", "convert", "archive"}
    bad = {"Authorization": "Bearer 02.not-the-token"}
    assert client.get("/api/records/00001", headers=bad).status_code == 401


def test_api_post_with_a_session_needs_the_csrf_header(client: TestClient) -> None:
    token = log_in(client)
    assert client.post("/api/records/00001/actions/log", json={"kind": "call", "note": "x"}).status_code == 403
    r = client.post("/api/records/00001/actions/log", json={"kind": "call", "note": "x"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200


# -- security ------------------------------------------------------------------------------------------


def test_security_headers_on_pages(client: TestClient) -> None:
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in r.text  # no inline script anywhere: the CSP would block it
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200 and js.text.startswith("/*! htmx 2.")


def test_no_stack_trace_ever_reaches_a_page(web_cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    from archivist.web import actions

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("internal detail /etc/shadow")

    monkeypatch.setattr(actions, "run", boom)
    with TestClient(create_app(web_cfg, reconcile_seconds=0), follow_redirects=False, raise_server_exceptions=False) as c:
        token = log_in(c)
        r = c.post("/records/00001/actions/log", data={"kind": "call", "note": "x", "csrf_token": token})
        assert r.status_code == 500
        assert "Traceback" not in r.text and "/etc/shadow" not in r.text and "RuntimeError" not in r.text
        assert "خطایی رخ داد" in r.text
        api = c.post("/api/records/00001/actions/log", json={"kind": "call", "note": "x"}, headers={"X-CSRF-Token": token})
        assert api.status_code == 500 and api.json() == {"error": "internal error"}


def test_a_broken_log_is_reported_not_overwritten(client: TestClient, web_cfg: Config) -> None:
    token = log_in(client)
    path = folder_of(web_cfg, "00001") / LOG_NAME
    path.write_text("form: F-31-08-01\nlead: [unclosed\n", encoding="utf-8")
    r = client.get("/records/00001")
    assert r.status_code in (404, 409) and "Traceback" not in r.text
    client.post("/records/00001/actions/log", data={"kind": "call", "note": "x", "csrf_token": token})
    assert path.read_text(encoding="utf-8") == "form: F-31-08-01\nlead: [unclosed\n"


def test_english_by_setting(client: TestClient, web_cfg: Config) -> None:
    path = users.users_path(web_cfg)
    data = yaml.safe_load(path.read_text())
    data["users"]["02"]["language"] = "en"
    path.write_text(yaml.safe_dump(data))
    log_in(client)
    html = client.get("/records/00001").text
    assert '<html lang="en" dir="ltr">' in html and "Timeline" in html and "00001" in html
    assert "archive is refused before CRM" in html  # the domain's reason in English too


def test_ui_language_en_makes_every_page_english(config_file: Path, web_cfg: Config) -> None:
    config_file.write_text(config_file.read_text(encoding="utf-8") + "ui:\n  language: en\n", encoding="utf-8")
    cfg = load_config(config_file)
    with TestClient(create_app(cfg, reconcile_seconds=0), follow_redirects=False) as c:
        assert '<html lang="en" dir="ltr">' in c.get("/login").text
        log_in(c)
        assert "Log out" in c.get("/").text


# -- CLI -------------------------------------------------------------------------------------------------


def test_user_commands(cli, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO("first-password\n"))
    code, out, err = cli("user", "add", "۰۷", "--password-stdin", "--admin")
    assert code == 0, err
    text = (config_file.parent / "users.yaml").read_text()
    assert "first-password" not in text and "$argon2id$" in text
    code, out, _ = cli("user", "list")
    assert out.split() == ["07", "سارا", "admin"]
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = cli("user", "passwd", "07", "--password-stdin")
    assert code == 1 and "too short" in err
    code, out, _ = cli("user", "token", "07")
    assert code == 0 and out.strip().startswith("07.")
    assert out.strip() not in (config_file.parent / "users.yaml").read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO("second-password\n"))
    code, _, err = cli("user", "add", "07", "--password-stdin")
    assert code == 1 and "already has an account" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("second-password\n"))
    code, _, err = cli("user", "add", "55", "--password-stdin")
    assert code == 1 and "unknown staff number" in err
    assert cli("user", "remove", "07")[0] == 0
    assert cli("user", "list")[1].strip().startswith("no web logins")


def test_start_web_spawns_serve_on_loopback_and_does_not_start_twice(web_cfg: Config, config_file: Path) -> None:
    import signal
    import socket

    from archivist.web import process

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config_file.write_text(config_file.read_text(encoding="utf-8").replace("web:\n", f"web:\n  port: {port}\n"), encoding="utf-8")
    cfg = load_config(config_file)
    said = process.spawn(cfg, wait=60)
    pid = int(re.search(r"pid (\d+)", said).group(1))  # type: ignore[union-attr]
    try:
        assert said.startswith(f"web app started at http://127.0.0.1:{port}/")
        assert process.answering("127.0.0.1", port)
        assert "already answering" in process.spawn(cfg)
        import httpx

        r = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


def test_logout_ends_the_session(client: TestClient) -> None:
    token = log_in(client)
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/").status_code == 303
    assert client.get("/api/due").status_code == 401
