"""`archivist serve`: the office's web app (SPEC §12) — Starlette + Jinja2 + vendored htmx.

A thin front-end: every page reads the index or a record's log, and every change goes through the
domain functions the CLI and the TUI call, with the logged-in staff number as `by`. Blocking work
(SQLite, YAML, file copies) runs in Starlette's thread pool; the one index connection is shared
(its own lock serialises it) and kept fresh by the workflow hook, the daemon, or — when no daemon
runs — a reconcile in the background.
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import actions as shared_actions
from .. import i18n, office, store, users, workflow
from ..config import STAGES, Config
from ..dates import now, shown
from ..errors import ArchivistError, InvalidLogError, RecordNotFound
from ..i18n import _
from ..index import daemon_running, export, hook, open_current, open_index, require_archive
from ..naming import fold, normalize_code
from ..record import Record, load_record
from . import actions, files
from .i18n import Words
from .security import COOKIE, SECURITY_HEADERS, LoginThrottle, Session, SessionCodec, csrf_ok, secret_key

log = logging.getLogger("archivist.web")
HERE = Path(__file__).parent
RESULT_LIMIT = 25  # rows a results page shows as you type (the API takes ?limit=, up to API_LIMIT)
API_LIMIT = 500
MASTER_PAGE = 100
RECONCILE_SECONDS = 60.0
READERS = 4
READER_CACHE_KB = 8000
VERIFY_SLOTS = 2


def default_language(cfg: Config) -> str:
    ui = getattr(cfg, "ui", None)
    return str(getattr(ui, "language", None) or "fa")


@dataclass
class Ctx:
    """One request: who is asking, in which language, and the session to send back."""

    request: Request
    session: Session
    user: users.User | None
    words: Words
    token_auth: bool = False
    extra_cookie: bool = field(default=False)

    @property
    def staff(self) -> str:
        assert self.user is not None
        return self.user.staff


class WebApp:
    def __init__(self, cfg: Config, throttle: LoginThrottle | None = None, reconcile_seconds: float = RECONCILE_SECONDS) -> None:
        self.cfg = cfg
        self.layout = store.layout_of(cfg)
        self.codec = SessionCodec(secret_key(self.layout.state), cfg.web.session_minutes * 60)
        self.throttle = throttle or LoginThrottle()
        self.reconcile_seconds = reconcile_seconds
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True, trim_blocks=True, lstrip_blocks=True
        )
        self._index: Any = None
        self._index_lock = threading.Lock()
        self._readers: queue.Queue[Any] = queue.Queue(maxsize=READERS)
        self._verify_slots = threading.BoundedSemaphore(VERIFY_SLOTS)
        self._users: tuple[float, dict[str, users.User]] = (-1.0, {})
        self._stop = threading.Event()
        self._reconciler: threading.Thread | None = None

    # -- shared resources ------------------------------------------------------------------------
    def index(self) -> Any:
        """The shared index connection, opened (and caught up with the folders) on first use."""
        if self._index is None:
            with self._index_lock:
                if self._index is None:
                    hook.install()  # actions taken here refresh the index when no daemon runs
                    self._index = open_current(self.cfg, progress=lambda *a: None)
        return self._index

    @contextlib.contextmanager
    def reader(self) -> Iterator[Any]:
        """An index connection of its own for one request: the shared one takes the first request
        (it builds or catches the index up), then up to READERS connections let searches run side
        by side (SQLite drops the GIL while it works) instead of queueing on one lock."""
        self.index()
        try:
            idx = self._readers.get_nowait()
        except queue.Empty:
            idx = open_index(self.cfg, build_if_missing=False)
            idx.db.execute(f"PRAGMA cache_size = -{READER_CACHE_KB}")  # the OS page cache holds the rest
        try:
            yield idx
        finally:
            try:
                self._readers.put_nowait(idx)
            except queue.Full:
                idx.close()

    def verify(self, staff: str, password: str) -> users.User | None:
        """A password check, at most VERIFY_SLOTS at once: each one costs ~20 MB and a core for a
        moment, and a crowd of logins must not starve the searches or the memory."""
        with self._verify_slots:
            return users.verify_password(self.accounts(), staff, password)

    def read(self, fn: Callable[[Any], Any]) -> Any:
        with self.reader() as idx:
            return fn(idx)

    def accounts(self) -> dict[str, users.User]:
        """users.yaml, re-read when it changes (`archivist user …` while the server runs)."""
        path = users.users_path(self.cfg)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            mtime = 0.0
        if mtime != self._users[0]:
            self._users = (mtime, users.load_users(self.cfg))
        return self._users[1]

    def start_background(self) -> None:
        """Without a daemon, nothing tells the index about hand edits and dropped files: reconcile."""
        if self._reconciler is None and self.reconcile_seconds > 0:
            self._reconciler = threading.Thread(target=self._reconcile_loop, name="archivist-web-reconcile", daemon=True)
            self._reconciler.start()

    def _reconcile_loop(self) -> None:
        while not self._stop.wait(self.reconcile_seconds):
            try:
                if self._index is None or daemon_running(self.cfg):
                    continue
                with open_index(self.cfg, build_if_missing=False) as idx:
                    idx.reconcile()
            except Exception:  # a failed catch-up must never stop the server; the next one retries
                log.exception("background reconcile failed")

    def close(self) -> None:
        self._stop.set()
        if self._reconciler is not None:
            self._reconciler.join(timeout=10)
        if self._index is not None:
            with contextlib.suppress(Exception):
                self._index.close()
            self._index = None
        while not self._readers.empty():
            with contextlib.suppress(Exception):
                self._readers.get_nowait().close()

    # -- request plumbing ------------------------------------------------------------------------
    def context(self, request: Request) -> tuple[Ctx, bool]:
        """(ctx, expired): the session from the cookie, or the account from a bearer token."""
        accounts = self.accounts()
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            user = users.user_for_token(accounts, auth[7:].strip())
            return Ctx(request, Session(), user, Words(self.language(user)), token_auth=True), False
        session, expired = self.codec.load(request.cookies.get(COOKIE))
        user = None
        if session is not None and session.staff:
            u = accounts.get(session.staff)
            if u is not None and session.key == u.session_key:
                user = u
            else:
                session = Session()
        return Ctx(request, session or Session(), user, Words(self.language(user))), expired

    def language(self, user: users.User | None) -> str:
        return (user.language if user and user.language else None) or default_language(self.cfg)

    def finish(self, ctx: Ctx, response: Response) -> Response:
        if not ctx.token_auth:
            secure = ctx.request.url.scheme == "https"
            # no max-age: the browser keeps it until it closes, and the signed timestamp inside ends it
            # after `web.session_minutes` idle, so the login page can say why it is shown
            response.set_cookie(COOKIE, self.codec.dump(ctx.session), httponly=True, samesite="lax", secure=secure, path="/")
        return response

    def render(self, ctx: Ctx, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        w = ctx.words
        flash, ctx.session.flash = ctx.session.flash, []
        html = self.env.get_template(template).render(
            t=w,
            lang=w.lang,
            dir=w.dir,
            user=ctx.user,
            csrf=ctx.session.csrf,
            cfg=self.cfg,
            flash=flash,
            when=lambda v, time=True: w.digits(shown(v, self.cfg.calendar, self.cfg.timezone, time=time)),
            staff_name=lambda s: self.cfg.staff.get(s or "", ""),
            path=ctx.request.url.path,
            **values,
        )
        return HTMLResponse(html, status_code=status)

    def page(
        self, fn: Callable[[Request, Ctx], Awaitable[Response]], api: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler: log in required (redirect or 401), CSRF on every POST, cookie re-signed."""

        async def endpoint(request: Request) -> Response:
            ctx, expired = self.context(request)
            if ctx.user is None:
                if api or ctx.token_auth:
                    return JSONResponse(
                        {
                            "error": "log in first, or send an API token: Authorization: Bearer <token>"
                        },  # untranslated: the web API's answer to scripts (English, like HTTP reasons)
                        status_code=401,
                        headers={"www-authenticate": "Bearer"},
                    )
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if expired:
                    ctx.session.flash.append(("error", "session_expired"))
                login_url = f"/login?{urlencode({'next': target})}"
                resp: Response = RedirectResponse(login_url, status_code=303)
                if request.headers.get("hx-request"):
                    # a redirect would be followed inside the XHR and the login form swapped into the
                    # results; htmx turns HX-Redirect into a whole-page visit instead
                    resp = Response(status_code=401, headers={"hx-redirect": login_url})
                return self.finish(ctx, resp)
            if request.method == "POST" and not ctx.token_auth and not await self.csrf_sent(request, ctx):
                return self.forbidden(ctx, api)
            try:
                with i18n.language(ctx.words.lang):  # the domain's messages in the reader's language
                    resp = await fn(request, ctx)
            except RecordNotFound as e:
                resp = self.problem(ctx, api, 404, str(e))
            except InvalidLogError as e:
                resp = self.problem(ctx, api, 409, str(e))
            return self.finish(ctx, resp)

        return endpoint

    async def csrf_sent(self, request: Request, ctx: Ctx) -> bool:
        sent = request.headers.get("x-csrf-token")
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            if not self.upload_size_ok(request):
                return True  # the handler answers 413 without reading the body
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
        return csrf_ok(ctx.session, sent)

    def upload_size_ok(self, request: Request) -> bool:
        length = request.headers.get("content-length")
        limit = self.cfg.web.max_upload_mb << 20
        return length is not None and length.isdigit() and int(length) <= limit + (64 << 10)

    def forbidden(self, ctx: Ctx, api: bool) -> Response:
        if api:
            return JSONResponse(
                {"error": "missing or wrong CSRF token (send X-CSRF-Token)"}, status_code=403
            )  # untranslated: the web API's answer to scripts (English, like HTTP reasons)
        return self.render(ctx, "error.html", 403, message=ctx.words("forbidden"))

    def problem(self, ctx: Ctx, api: bool, status: int, message: str) -> Response:
        if api:
            return JSONResponse({"error": message}, status_code=status)
        return self.render(ctx, "error.html", status, message=message)

    def record_folder(self, code: str) -> Path:
        """The folder of a record: the domain's look-up (through the index, checked on disk)."""
        return workflow.locate(self.cfg, code)


# -- pages -----------------------------------------------------------------------------------------


def build(cfg: Config, throttle: LoginThrottle | None = None, reconcile_seconds: float = RECONCILE_SECONDS) -> Starlette:
    web = WebApp(cfg, throttle, reconcile_seconds)

    async def login_form(request: Request) -> Response:
        ctx, _ = web.context(request)
        if ctx.user is not None:
            return web.finish(ctx, RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303))
        return web.finish(ctx, web.render(ctx, "login.html", next=_safe_next(request.query_params.get("next"))))

    async def login(request: Request) -> Response:
        ctx, _ = web.context(request)
        form = await request.form()
        if not csrf_ok(ctx.session, _str(form.get("csrf_token"))):
            return web.finish(ctx, web.forbidden(ctx, False))
        staff_typed = _str(form.get("staff"))
        password = _str(form.get("password")) or ""
        staff = normalize_code(staff_typed or "").zfill(2)[:8]
        address = request.client.host if request.client else "?"
        keys = [f"staff:{staff}", f"addr:{address}"]
        nxt = _safe_next(_str(form.get("next")))
        if web.throttle.refused(keys):
            resp = web.render(ctx, "login.html", 429, error=ctx.words("login_throttled"), next=nxt, staff=staff_typed)
            resp.headers["retry-after"] = "60"
            return web.finish(ctx, resp)
        user = await run_in_threadpool(web.verify, staff, password)
        if user is None:
            delay = web.throttle.failed(keys)
            if delay:
                import anyio

                await anyio.sleep(delay)
            log.warning("failed web login for staff %s from %s", staff, address)
            return web.finish(
                ctx, web.render(ctx, "login.html", 401, error=ctx.words("login_failed"), next=nxt, staff=staff_typed)
            )
        web.throttle.succeeded(f"staff:{staff}")
        ctx.session = Session(staff=user.staff, key=user.session_key)  # a fresh CSRF token for the new session
        return web.finish(ctx, RedirectResponse(nxt, status_code=303))

    async def logout(request: Request, ctx: Ctx) -> Response:
        ctx.session = Session()
        return RedirectResponse("/login", status_code=303)

    # search ----------------------------------------------------------------------------------
    def search_hits(ctx: Ctx, params: Any, limit: int = RESULT_LIMIT) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
        q = (params.get("q") or "").strip()
        status = params.get("status") or None
        staff = params.get("staff") or None
        scope = params.get("scope") or "open"
        archived = {"open": False, "archived": True}.get(scope)
        filters = {"q": q, "status": status or "", "staff": staff or "", "scope": scope}
        with web.reader() as idx:
            if fold(q):
                return idx.search(q, limit=limit, status=status, staff=staff, archived=archived), filters, "search"
            if status or staff or scope != "open":
                rows = idx.records(status=status, staff=staff, archived=archived)
                return rows[::-1][:limit], filters, "list"
            return list(idx.most_urgent(ctx.staff, limit)), filters, "mine"

    async def home(request: Request, ctx: Ctx) -> Response:
        try:
            hits, filters, mode = await run_in_threadpool(search_hits, ctx, request.query_params)
            error = ""
        except ArchivistError as e:
            hits, filters, mode, error = [], dict(request.query_params), "search", str(e)
        template = (
            "_results.html"
            if request.headers.get("hx-request") and request.headers.get("hx-target") == "results"
            else "search.html"
        )
        return web.render(ctx, template, hits=hits, filters=filters, mode=mode, error=error, stages=list(_stage_names()))

    # records ---------------------------------------------------------------------------------
    def load(code: str) -> Record:
        return load_record(web.record_folder(code))

    def record_view(ctx: Ctx, code: str, status: int = 200, error: str = "", open_action: str = "") -> Response:
        rec = load(code)
        assert rec.folder is not None
        allowed = actions.allowed(rec)
        forms = [(name, actions.inputs(web.cfg, rec, name)) for name in allowed]
        return web.render(
            ctx,
            "record.html",
            status,
            rec=rec,
            code=rec.code,
            files=files.list_files(rec.folder),
            forms=forms,
            refusals=actions.refusals(rec),
            error=error,
            open_action=open_action,
            events=list(reversed(rec.events)),
            area=web.layout.area_of(rec.folder) or "",
            max_mb=web.cfg.web.max_upload_mb,
        )

    async def record_page(request: Request, ctx: Ctx) -> Response:
        return await run_in_threadpool(record_view, ctx, request.path_params["code"])

    async def record_action(request: Request, ctx: Ctx) -> Response:
        code, action = request.path_params["code"], request.path_params["action"]
        if action not in actions.ACTIONS:
            raise HTTPException(404)
        form = await request.form()
        values = actions.values_from(action, dict(form))
        try:
            rec = await run_in_threadpool(actions.run, web.cfg, code, action, values, ctx.staff)
        except ArchivistError as e:
            if isinstance(e, RecordNotFound | InvalidLogError):
                raise
            return await run_in_threadpool(record_view, ctx, code, 400, str(e), action)
        ctx.session.flash.append(("ok", f"{ctx.words.action(action)}: {ctx.words('done')}"))
        return RedirectResponse(f"/records/{rec.code}", status_code=303)

    async def record_file(request: Request, ctx: Ctx) -> Response:
        folder = await run_in_threadpool(web.record_folder, request.path_params["code"])
        path = await run_in_threadpool(files.resolve_inside, folder, request.path_params["name"])
        if path is None:
            raise HTTPException(404)
        entry = files.FileEntry(path.name, 0, 0)
        inline = request.query_params.get("inline") == "1" and entry.previewable
        resp = FileResponse(
            path, media_type=entry.content_type, filename=path.name, content_disposition_type="inline" if inline else "attachment"
        )
        resp.headers["content-security-policy"] = (
            "default-src 'none'; img-src 'self'; frame-ancestors 'self'; sandbox"
            if entry.is_image
            else "frame-ancestors 'self'"  # untranslated: an HTTP header or a bare error page body for a browser
        )
        resp.headers["cache-control"] = (
            "private, no-cache"  # untranslated: an HTTP header or a bare error page body for a browser
        )
        return resp

    async def record_upload(request: Request, ctx: Ctx) -> Response:
        code = request.path_params["code"]
        limit = web.cfg.web.max_upload_mb << 20
        if not web.upload_size_ok(request):
            return await run_in_threadpool(
                record_view,
                ctx,
                code,
                413,
                _("{words} ({digits} MB)").format(words=ctx.words("too_big"), digits=ctx.words.digits(web.cfg.web.max_upload_mb)),
            )
        form = await request.form()
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        folder = await run_in_threadpool(web.record_folder, code)
        saved = []
        try:
            for up in uploads:
                dst = await run_in_threadpool(
                    files.save_upload, web.cfg, folder, up.filename or "file", up.file, limit, ctx.staff
                )
                saved.append(dst.name)
        except ArchivistError as e:
            status = 413 if isinstance(e, files.TooLarge) else 400
            return await run_in_threadpool(record_view, ctx, code, status, str(e))
        finally:
            for up in uploads:
                await up.close()
        if request.headers.get("hx-request"):
            return await run_in_threadpool(record_view, ctx, code)
        if saved:
            ctx.session.flash.append(("ok", f"{ctx.words('uploaded')}: {', '.join(saved)}"))
        return RedirectResponse(f"/records/{quote(code)}", status_code=303)

    # register ----------------------------------------------------------------------------------
    def register_values(form: Any) -> dict[str, Any]:
        return {
            "company": _str(form.get("company")) or "",
            "staff": _str(form.get("staff")) or "",
            "contact": {k: (_str(form.get(k)) or "").strip() for k in CONTACT_KEYS},
            "services": [s for s in form.getlist("services") if isinstance(s, str) and s],
            "requests": [r.strip() for r in (_str(form.get("requests")) or "").splitlines() if r.strip()],
            "note": _str(form.get("note")) or "",
            "confirm": form.get("confirm") == "yes",
        }

    def register_check(values: dict[str, Any], words: Words) -> tuple[list[str], list[dict[str, Any]]]:
        """What is wrong as typed, and the earlier records this company probably is."""
        problems = []
        if not values["company"].strip():
            problems.append(f"{words('company')}: {words('required')}")
        try:
            workflow.validate_contact(values["contact"])
        except ArchivistError as e:
            problems.append(str(e))
        if values["staff"]:
            try:
                web.cfg.staff_number(values["staff"], "staff")
            except ArchivistError as e:
                problems.append(str(e))
        matches: list[dict[str, Any]] = []
        if len(fold(values["company"]).replace(" ", "")) >= 3:
            matches = shared_actions.returning_matches(web.cfg, values["company"], values["contact"])
        return problems, matches

    async def register_form(request: Request, ctx: Ctx) -> Response:
        values = {"company": "", "staff": ctx.staff, "contact": {}, "services": [], "requests": [], "note": ""}
        return web.render(ctx, "register.html", values=values, problems=[], matches=[], contact_keys=CONTACT_KEYS)

    async def register_check_view(request: Request, ctx: Ctx) -> Response:
        values = register_values(await request.form())
        problems, matches = await run_in_threadpool(register_check, values, ctx.words)
        return web.render(ctx, "_register_check.html", problems=problems, matches=matches)

    async def register_submit(request: Request, ctx: Ctx) -> Response:
        values = register_values(await request.form())
        problems, matches = await run_in_threadpool(register_check, values, ctx.words)
        if problems or (matches and not values["confirm"]):
            return web.render(
                ctx,
                "register.html",
                400 if problems else 200,
                values=values,
                problems=problems,
                matches=matches,
                contact_keys=CONTACT_KEYS,
                ask_confirm=bool(matches),
            )
        try:
            done = await run_in_threadpool(
                lambda: shared_actions.register_applicant(
                    web.cfg,
                    company=values["company"],
                    staff=values["staff"] or ctx.staff,
                    by=ctx.staff,
                    contact=values["contact"],
                    services=values["services"],
                    requests=values["requests"],
                    note=values["note"],
                    confirm=values["confirm"],
                )
            )
        except ArchivistError as e:
            return web.render(
                ctx, "register.html", 400, values=values, problems=[str(e)], matches=matches, contact_keys=CONTACT_KEYS
            )
        rec = done.record
        if rec is None:  # a match appeared since the check: ask again
            return web.render(
                ctx,
                "register.html",
                200,
                values=values,
                problems=[],
                matches=done.matches,
                contact_keys=CONTACT_KEYS,
                ask_confirm=True,
            )
        ctx.session.flash.append(("ok", f"{ctx.words('registered')}: {ctx.words.digits(rec.lead)}"))
        return RedirectResponse(f"/records/{rec.lead}", status_code=303)

    # my day ------------------------------------------------------------------------------------
    async def my_day(request: Request, ctx: Ctx) -> Response:
        staff = request.query_params.get("staff", ctx.staff) or None
        try:
            due = await run_in_threadpool(lambda: web.read(lambda idx: idx.due(staff=staff)))
        except ArchivistError as e:
            return web.render(ctx, "error.html", 400, message=str(e))
        health = await run_in_threadpool(office_health, web)
        return web.render(ctx, "day.html", due=due, staff=staff or "", health=health)

    # master list -------------------------------------------------------------------------------
    async def master(request: Request, ctx: Ctx) -> Response:
        page = _int(request.query_params.get("page"), 1)
        rows = await run_in_threadpool(lambda: web.read(lambda idx: idx.records()))
        pages = max(1, (len(rows) + MASTER_PAGE - 1) // MASTER_PAGE)
        page = min(max(page, 1), pages)
        return web.render(
            ctx, "master.html", rows=rows[(page - 1) * MASTER_PAGE : page * MASTER_PAGE], total=len(rows), page=page, pages=pages
        )

    async def master_export(request: Request, ctx: Ctx) -> Response:
        kind = request.path_params["kind"]
        # the cells as the CLI's file gets them (one row shape for the writers, no dict per row)
        records = await run_in_threadpool(lambda: web.read(lambda idx: list(idx.iter_export_cells())))
        stamp = now(web.cfg.timezone).strftime("%Y%m%d")
        if kind == "csv":
            data = await run_in_threadpool(export.to_csv, web.cfg, records)
            media = "text/csv; charset=utf-8"  # untranslated: an HTTP header or a bare error page body for a browser
        else:
            buf = io.BytesIO()
            await run_in_threadpool(export.write_xlsx, web.cfg, records, buf)
            data = buf.getvalue()
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(
            data,
            media_type=media,
            headers={
                "content-disposition": f'attachment; filename="F-31-08-02-{stamp}.{kind}"'
            },  # untranslated: an HTTP header or a bare error page body for a browser
        )

    # JSON API ------------------------------------------------------------------------------------
    async def api_search(request: Request, ctx: Ctx) -> Response:
        try:
            limit = min(max(_int(request.query_params.get("limit"), 50), 1), API_LIMIT)
            hits, filters, mode = await run_in_threadpool(search_hits, ctx, request.query_params, limit)
        except ArchivistError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse({"query": filters, "mode": mode, "results": hits})

    async def api_record(request: Request, ctx: Ctx) -> Response:
        rec = await run_in_threadpool(load, request.path_params["code"])
        out = rec.to_json()
        out["allowed_actions"] = actions.allowed(rec)
        return JSONResponse(out)

    async def api_due(request: Request, ctx: Ctx) -> Response:
        staff = request.query_params.get("staff", ctx.staff) or None
        try:
            due = await run_in_threadpool(lambda: web.read(lambda idx: idx.due(staff=staff)))
        except ArchivistError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse(due)

    async def api_actions(request: Request, ctx: Ctx) -> Response:
        return JSONResponse(actions.describe())

    async def api_record_actions(request: Request, ctx: Ctx) -> Response:
        rec = await run_in_threadpool(load, request.path_params["code"])
        return JSONResponse(
            {"code": rec.code, "status": rec.status, "allowed": actions.allowed(rec), "refused": dict(actions.refusals(rec))}
        )

    async def api_act(request: Request, ctx: Ctx) -> Response:
        code, action = request.path_params["code"], request.path_params["action"]
        if action not in actions.ACTIONS:
            return JSONResponse(
                {"error": f"unknown action {action!r}; GET /api/actions lists them"}, status_code=404
            )  # untranslated: the web API's answer to scripts (English, like HTTP reasons)
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse(
                {"error": "send the action's fields as a JSON object"}, status_code=400
            )  # untranslated: the web API's answer to scripts (English, like HTTP reasons)
        try:
            rec = await run_in_threadpool(actions.run, web.cfg, code, action, actions.values_from(action, body), ctx.staff)
        except ArchivistError as e:
            if isinstance(e, RecordNotFound | InvalidLogError):
                raise
            return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse({"ok": True, "record": rec.to_json()})

    async def not_found(request: Request, exc: Exception) -> Response:
        return _bare_error(web, request, 404)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("error while answering %s %s", request.method, request.url.path, exc_info=exc)
        return _bare_error(web, request, 500)

    async def user_error(request: Request, exc: Exception) -> Response:
        return _bare_error(web, request, 400, str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return _bare_error(web, request, status)

    P, A = web.page, (lambda fn: web.page(fn, api=True))
    routes = [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", P(logout), methods=["POST"]),
        Route("/", P(home), methods=["GET"]),
        Route("/register", P(register_form), methods=["GET"]),
        Route("/register", P(register_submit), methods=["POST"]),
        Route("/register/check", P(register_check_view), methods=["POST"]),
        Route("/day", P(my_day), methods=["GET"]),
        Route("/master", P(master), methods=["GET"]),
        Route("/master.{kind:str}", P(master_export_checked(master_export)), methods=["GET"]),
        Route("/records/{code}", P(record_page), methods=["GET"]),
        Route("/records/{code}/actions/{action}", P(record_action), methods=["POST"]),
        Route("/records/{code}/upload", P(record_upload), methods=["POST"]),
        Route("/records/{code}/files/{name:path}", P(record_file), methods=["GET"]),
        Route("/api/search", A(api_search), methods=["GET"]),
        Route("/api/due", A(api_due), methods=["GET"]),
        Route("/api/actions", A(api_actions), methods=["GET"]),
        Route("/api/records/{code}", A(api_record), methods=["GET"]),
        Route("/api/records/{code}/actions", A(api_record_actions), methods=["GET"]),
        Route("/api/records/{code}/actions/{action}", A(api_act), methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        web.start_background()
        try:
            yield
        finally:
            await run_in_threadpool(web.close)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, HTTPException: http_error, ArchivistError: user_error, Exception: server_error},
    )
    app.state.web = web
    return app


CONTACT_KEYS = shared_actions.CONTACT_KEYS


def master_export_checked(fn: Callable[[Request, Ctx], Awaitable[Response]]) -> Callable[[Request, Ctx], Awaitable[Response]]:
    async def inner(request: Request, ctx: Ctx) -> Response:
        if request.path_params.get("kind") not in ("csv", "xlsx"):
            raise HTTPException(404)
        return await fn(request, ctx)

    return inner


def office_health(web: WebApp) -> dict[str, Any]:
    """My day's office part: `office.office_health` (the office status plus the index's naming
    violations) shaped for the template."""
    cfg = web.cfg
    status = office.office_health(cfg, lambda: web.read(lambda idx: idx.violations()))
    out: dict[str, Any] = {
        "daemon": status["pid"] if status["running"] else None,
        "unfiled": [str(p.relative_to(cfg.root)) for p in office.unfiled_paths(cfg, status)],
    }
    if status.get("backup_error"):
        out["backup_error"] = status["backup_error"]
    else:
        out["backup"] = {
            "last_ok": status.get("last_backup"),
            "overdue": status.get("backup_overdue") is True,
            "target_ready": status.get("backup_target_ready"),
        }
    out["violations"] = status["violation_list"]
    if "violations_error" in status:
        out["violations_error"] = status["violations_error"]
    return out


def _bare_error(web: WebApp, request: Request, status: int, message: str = "") -> Response:
    """An error page (or JSON) without a stack trace, whatever went wrong."""
    if request.url.path.startswith("/api/"):
        return JSONResponse(
            {"error": message or {404: "not found", 500: "internal error"}.get(status, "error")},
            status_code=status,  # untranslated: the web API's answer to scripts (English, like HTTP reasons)
        )
    try:
        ctx, _ = web.context(request)
        words = ctx.words
        text = message or {404: words("not_found"), 500: words("error")}.get(status, words("error"))
        return web.render(ctx, "error.html", status, message=text)
    except Exception:
        return HTMLResponse(
            "<!doctype html><title>error</title><p>error</p>", status_code=status
        )  # untranslated: an HTTP header or a bare error page body for a browser


def _stage_names() -> tuple[str, ...]:
    return STAGES


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: str | None, default: int) -> int:
    try:
        return int(normalize_code(value or ""))
    except ValueError:
        return default


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no //host, no scheme): a login link cannot send people elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


class SecurityHeaders:
    """Adds the security headers to every response that did not set its own, and a Server-Timing
    header (`app;dur=<ms>` until the response starts) that bench/web_bench.py reads."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()))
                present = {k.decode("latin-1").lower() for k, _ in headers}
                for k, v in SECURITY_HEADERS.items():
                    if k not in present:
                        headers.append((k.encode("latin-1"), v.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(cfg: Config, throttle: LoginThrottle | None = None, reconcile_seconds: float = RECONCILE_SECONDS) -> ASGIApp:
    """The ASGI app for `cfg` (what `archivist serve` runs under uvicorn, and what tests drive)."""
    require_archive(cfg)
    return SecurityHeaders(build(cfg, throttle, reconcile_seconds))
