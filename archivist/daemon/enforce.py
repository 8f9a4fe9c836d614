"""Naming enforcement per `naming.policy`, through the same checks `doctor` runs.

`report`: the violations are returned for the log, the index and the TUI. `fix`: the safe fixes
(`workflow.apply_fixes`: renames onto free names only, each logged as a `renamed` event) are made,
and what could not be fixed is returned. The folder may have moved; the result says where it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from .. import doctor, workflow
from ..config import Config
from ..record import TOOL_ACTOR, Record
from ..store import layout_of
from ..violations import Violation

log = logging.getLogger("archivist.daemon")
FIXED_BY = TOOL_ACTOR


@dataclass
class Enforcement:
    folder: Path
    record: Record | None
    violations: list[Violation]
    fixed: list[Violation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def enforce_folder(cfg: Config, area: str, folder: Path, known: Record | None = None) -> Enforcement:
    """Check one record folder and, under the `fix` policy, fix what is safe to fix (`known`: the
    log as the daemon just wrote it, see doctor.check_folder)."""
    rec, found = doctor.check_folder(cfg, area, folder, known)
    if cfg.naming.policy != "fix" or not any(v.fixable and v.fix_to for v in found):
        return Enforcement(folder, rec, found)
    fixed, skipped = workflow.apply_fixes(cfg, found, FIXED_BY)
    for v in fixed:
        if v.path == str(folder) and v.fix_to:
            folder = Path(v.fix_to)
    new_area = layout_of(cfg).area_of(folder) or area
    rec, left = doctor.check_folder(cfg, new_area, folder)
    return Enforcement(folder, rec, left, fixed, skipped)
