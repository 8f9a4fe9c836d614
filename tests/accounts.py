"""Real OS accounts for the "several accounts, one archive" tests.

The test (as root) creates a group and two users with groupadd/useradd, makes a setgid folder
that group owns, and runs archivist commands as each user: a forked child of the test process
drops to the user's uid and gid (setgroups/setgid/setuid), so the kernel checks every open,
mkdir, rename and lock exactly as for a login of that user. A fork instead of `runuser python3`
because this interpreter lives under /root, which other accounts may not enter; everything the
child needs is imported before the fork.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pkgutil
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest


def _preload() -> None:
    import archivist

    for mod in pkgutil.walk_packages(archivist.__path__, "archivist."):
        with contextlib.suppress(Exception):
            importlib.import_module(mod.name)
    from archivist.cli import build_parser

    build_parser()  # imports every command module, as the child's main() will
    for name in (
        "urllib.parse",
        "functools",
        "pwd",
        "grp",
        "string",
        "json",
        "csv",
        "difflib",
        "unicodedata",
        "sqlite3",
        "zoneinfo",
        "gettext",
        "locale",
        "encodings.idna",
        "email.utils",
        "shlex",
        "fnmatch",
        "statistics",
        "uuid",
        "secrets",
        "hashlib",
        "ctypes",
        "ctypes.util",
        "getpass",
    ):
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    from zoneinfo import ZoneInfo

    ZoneInfo("Asia/Tehran")  # cached: the child cannot read the tz data under /root
    import yaml

    yaml.safe_load("a: [1, {b: c}]")


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Office:
    group: str
    gid: int
    users: tuple[Account, Account]
    base: Path  # setgid folder of the group, holding config.yaml and the archive


class Running:
    """A command started by `spawn_as`; `collect()` waits for it: (exit code, stdout, stderr)."""

    def __init__(self, pid: int, out_fd: int, err_fd: int) -> None:
        self.pid, self.out_fd, self.err_fd = pid, out_fd, err_fd

    def collect(self) -> tuple[int, str, str]:
        with os.fdopen(self.out_fd, "rb") as o, os.fdopen(self.err_fd, "rb") as e:
            # small outputs (well under a pipe's 64 KiB): reading one, then the other, cannot block
            out = o.read().decode("utf-8", "replace")
            err = e.read().decode("utf-8", "replace")
        _pid, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status), out, err


def spawn_as(user: Account, argv: Sequence[str], env: dict[str, str] | None = None) -> Running:
    """Start `archivist ARGV…` as `user` in a forked child that drops to the user's ids."""
    from archivist.cli import main as cli_main

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 99
        try:
            os.close(out_r)
            os.close(err_r)
            sys.stdout = io.TextIOWrapper(os.fdopen(out_w, "wb"), encoding="utf-8", write_through=True)
            sys.stderr = io.TextIOWrapper(os.fdopen(err_w, "wb"), encoding="utf-8", write_through=True)
            os.setgroups([user.gid])
            os.setgid(user.gid)
            os.setuid(user.uid)
            os.umask(0o022)  # a login's usual umask: archivist must make shared files group-writable itself
            os.environ.pop("ARCHIVIST_STAFF", None)
            os.environ.update(env or {})
            os.chdir("/")
            code = cli_main(list(argv))
        except SystemExit as e:
            code = int(e.code or 0)
        except BaseException:  # noqa: BLE001 — a traceback is what the test looks for
            traceback.print_exc()
            code = 98
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    return Running(pid, out_r, err_r)


def run_as(user: Account, argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`archivist ARGV…` as `user`: (exit code, stdout, stderr)."""
    return spawn_as(user, argv, env).collect()


@contextlib.contextmanager
def office_accounts() -> Iterator[Office]:
    """A group and two users made for the test, and a setgid folder of the group; all removed after."""
    if os.geteuid() != 0:
        pytest.fail(
            "needs root to create two OS accounts with useradd/groupadd (run the suite as root, as CI does)", pytrace=False
        )
    if not (shutil.which("useradd") and shutil.which("groupadd")):
        pytest.fail("useradd/groupadd are missing: install Debian's passwd package (.ci/run does)", pytrace=False)
    _preload()
    tag = f"{os.getpid() % 100000:05d}"
    group = f"arcoff{tag}"
    names = (f"arcsara{tag}", f"arcreza{tag}")
    made: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="archivist-office-", dir="/tmp"))
    try:
        subprocess.run(["groupadd", group], check=True, capture_output=True)
        for n in names:
            subprocess.run(["useradd", "-M", "-N", "-g", group, "-s", "/usr/sbin/nologin", n], check=True, capture_output=True)
            made.append(n)
        import grp
        import pwd

        gid = grp.getgrnam(group).gr_gid
        users = tuple(Account(n, pwd.getpwnam(n).pw_uid, gid) for n in names)
        os.chown(base, 0, gid)
        os.chmod(base, 0o2770)  # the group's folder: setgid, so all inside belongs to the group
        yield Office(group, gid, (users[0], users[1]), base)
    finally:
        for n in made:
            subprocess.run(["userdel", n], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
