"""Who is acting: the login, not a flag (SPEC §12).

With `accounts:` in config.yaml (staff number → OS account on the host), a command records the
staff number of the account that runs it. `--by` (or $ARCHIVIST_STAFF) may name someone else only
when that account is an admin (`admins:`); the event then records both: `by` is the admin (the
login) and `for` the staff member acted for. Anyone else naming another number is refused.

Without `accounts:` (a single-user install: one person, one account) nothing can be checked, so
`--by`/$ARCHIVIST_STAFF say who acts, as before; README "An office on one host" says to configure
`accounts:` as soon as a second person uses the host.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ArchivistError
from .i18n import _

if TYPE_CHECKING:  # a leaf: record.py asks `on_behalf()` without importing the config layer
    from .config import Config


class IdentityError(ArchivistError):
    """The account may not act as the staff member it named (or is not mapped to one)."""


@dataclass(frozen=True)
class Acting:
    by: str | None  # the staff number recorded as `by`
    on_behalf: str | None = None  # the staff member an admin acts for, recorded as `for`


_ON_BEHALF: ContextVar[str | None] = ContextVar("archivist_on_behalf", default=None)


def os_account() -> str:
    """The login name of this process's effective user."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (KeyError, ImportError):
        return str(os.geteuid())


def staff_of_account(cfg: Config, account: str) -> str | None:
    for number, name in cfg.accounts.items():
        if name == account:
            return number
    return None


def resolve(cfg: Config, requested: str | None, account: str | None = None) -> Acting:
    """Who acts, from the account and what `--by`/$ARCHIVIST_STAFF asked; refused when not allowed."""
    if not cfg.accounts:
        return Acting(requested)
    account = account or os_account()
    me = staff_of_account(cfg, account)
    want = cfg.staff_number(requested) if requested else None
    if me is None:
        raise IdentityError(
            _(
                'this account ({account}) is not mapped to a staff number; an admin adds it under accounts: in config.yaml (e.g. "03": {account})'
            ).format(account=account)
        )
    if want is None or want == me:
        return Acting(me)
    if me in cfg.admins:
        return Acting(me, want)
    raise IdentityError(
        _(
            "--by {requested}: this account ({account}) is staff {me}, and only an admin (admins: in config.yaml) may act for someone else"
        ).format(requested=requested, account=account, me=me)
    )


# the TUI's choice ("act as" in its palette) holds for the whole process, its worker threads too
_process_on_behalf: str | None = None


def on_behalf() -> str | None:
    """The staff member the current action is done for (by an admin), if any."""
    return _ON_BEHALF.get() or _process_on_behalf


def act_for_in_process(staff: str | None) -> None:
    """For a front-end whose writes run in worker threads (the TUI): every thread acts for `staff`."""
    global _process_on_behalf
    _process_on_behalf = staff


def act_for(staff: str | None) -> None:
    """From here on (within the current `scope`), events record `for: <staff>` next to `by`."""
    _ON_BEHALF.set(staff)


@contextlib.contextmanager
def scope() -> Iterator[None]:
    """One command (or one web request): whatever `act_for` set inside is undone at the end."""
    token = _ON_BEHALF.set(_ON_BEHALF.get())
    try:
        yield
    finally:
        _ON_BEHALF.reset(token)
