"""Starting `archivist serve` in the background (what `archivist start --web` does).

The server is "running" when its port answers; a detached child writes its output to
`<state>/web.log`. Under systemd use contrib/archivist-web.service instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from .. import store
from ..config import Config, archivist_command
from ..errors import ArchivistError
from ..i18n import _
from ..modes import make_dirs, open_or_create


def log_path(cfg: Config) -> Path:
    return store.layout_of(cfg).state / "web.log"


def answering(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def serve_command(cfg: Config) -> list[str]:
    return archivist_command(cfg, "serve")


def spawn(cfg: Config, wait: float = 15.0) -> str:
    """Start the web app unless its port already answers; one line saying what happened."""
    host, port = cfg.web.host, cfg.web.port
    url = f"http://{host}:{port}/"
    if answering(host, port):
        return _("web app already answering at {url}").format(url=url)
    path = log_path(cfg)
    make_dirs(path.parent)
    with open(open_or_create(path, os.O_WRONLY | os.O_APPEND), "ab") as out:  # 0600, 0660 when shared
        proc = subprocess.Popen(
            serve_command(cfg), stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, close_fds=True
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if answering(host, port):
            return _("web app started at {url} (pid {pid}, log {path})").format(url=url, pid=proc.pid, path=path)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise ArchivistError(_("the web app did not start; see {path} or run `archivist serve` to see why").format(path=path))
