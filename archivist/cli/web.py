"""`archivist serve` (the web app) and `archivist user …` (its accounts in users.yaml)."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import sys

from ..errors import ArchivistError
from ..i18n import _
from . import Context, command_help, json_flag


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help=command_help("serve"))
    p.add_argument("--host", help=_("address to listen on (default: web.host in config, 127.0.0.1)"))
    p.add_argument("--port", type=int, help=_("port (default: web.port in config, 8080)"))
    p.add_argument("--ssl-certfile", help=_("serve HTTPS with this certificate (else use a reverse proxy)"))
    p.add_argument("--ssl-keyfile", help=_("the certificate's private key"))
    p.set_defaults(func=cmd_serve, keeps_running=True)

    p = sub.add_parser("user", help=command_help("user"))
    usub = p.add_subparsers(dest="user_command", metavar="ACTION")
    usub.required = True
    q = usub.add_parser("add", help=_("give a staff number a web login"))
    q.add_argument("staff")
    q.add_argument("--password-stdin", action="store_true", help=_("read the password from standard input"))
    q.add_argument("--admin", action="store_true")
    q.set_defaults(func=cmd_user_add)
    q = usub.add_parser("passwd", help=_("set a new password"))
    q.add_argument("staff")
    q.add_argument("--password-stdin", action="store_true")
    q.set_defaults(func=cmd_user_passwd)
    q = usub.add_parser("remove", help=_("remove a web login"))
    q.add_argument("staff")
    q.set_defaults(func=cmd_user_remove)
    q = usub.add_parser("list", help=_("the web logins"))
    json_flag(q)
    q.set_defaults(func=cmd_user_list)
    q = usub.add_parser("token", help=_("make a new API token for scripts (printed once, stored hashed)"))
    q.add_argument("staff")
    q.set_defaults(func=cmd_user_token)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ArchivistError(_("no terminal to ask for the password; pipe it in with --password-stdin"))
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ArchivistError(_("the two passwords differ; nothing changed"))
    return first


def cmd_user_add(ctx: Context, args: argparse.Namespace) -> int:
    from .. import users  # argon2 and friends: loaded by the commands that use them, not at every start

    u = users.add_user(ctx.cfg, args.staff, _password(args), admin=args.admin)
    ctx.out(
        _("web login for staff {staff} added{admin} in {users_path}").format(
            staff=u.staff, admin=" (admin)" if u.admin else "", users_path=users.users_path(ctx.cfg)
        )
    )
    return 0


def cmd_user_passwd(ctx: Context, args: argparse.Namespace) -> int:
    from .. import users  # argon2 and friends: loaded by the commands that use them, not at every start

    u = users.set_password(ctx.cfg, args.staff, _password(args))
    ctx.out(_("password of staff {staff} changed; their open sessions have ended").format(staff=u.staff))
    return 0


def cmd_user_remove(ctx: Context, args: argparse.Namespace) -> int:
    from .. import users  # argon2 and friends: loaded by the commands that use them, not at every start

    users.remove_user(ctx.cfg, args.staff)
    ctx.out(_("web login of staff {staff_number} removed").format(staff_number=ctx.cfg.staff_number(args.staff, "staff")))
    return 0


def cmd_user_list(ctx: Context, args: argparse.Namespace) -> int:
    from .. import users  # argon2 and friends: loaded by the commands that use them, not at every start

    rows = [
        {"staff": u.staff, "name": ctx.cfg.staff.get(u.staff, ""), "admin": u.admin, "token": bool(u.token)}
        for u in users.load_users(ctx.cfg).values()
    ]
    if args.json:
        ctx.json(rows)
        return 0
    for r in rows:
        flags = " ".join(x for x in ("admin" if r["admin"] else "", "api-token" if r["token"] else "") if x)
        ctx.out(f"{r['staff']}  {r['name']}  {flags}".rstrip())
    if not rows:
        ctx.out(_("no web logins yet; add one with `archivist user add SS`"))
    return 0


def cmd_user_token(ctx: Context, args: argparse.Namespace) -> int:
    from .. import users  # argon2 and friends: loaded by the commands that use them, not at every start

    token = users.new_token(ctx.cfg, args.staff)
    ctx.err(_("the token is shown once; it replaces any earlier token of this staff member"))
    ctx.out(token)
    return 0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(ctx: Context, args: argparse.Namespace) -> int:
    import uvicorn

    from .. import i18n, users
    from ..web import create_app

    cfg = ctx.cfg
    i18n.set_surface("screen")  # messages name the form's fields, not command-line flags
    host = args.host or cfg.web.host
    port = args.port or cfg.web.port
    app = create_app(cfg)
    if not users.load_users(cfg):
        ctx.err(_("archivist: no web logins yet; add one with `archivist user add SS` (nobody can log in until then)"))
    if not is_loopback(host) and not args.ssl_certfile:
        ctx.err(
            _(
                "archivist: serving plain HTTP on {host}: passwords cross the network readable; put the TLS reverse proxy from the README in front, or pass --ssl-certfile/--ssl-keyfile"
            ).format(host=host)
        )
    ctx.err(
        _("archivist: web app on {url} (Ctrl+C stops it)").format(url=f"http{'s' if args.ssl_certfile else ''}://{host}:{port}/")
    )
    _few_malloc_arenas()
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        log_level="info",
        access_log=False,
    )
    return 0


def _few_malloc_arenas() -> None:
    """Two malloc arenas for the server's threads (glibc allows 8 per core): each arena keeps the
    memory its thread freed, which shows up as resident memory that is never used again."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass
