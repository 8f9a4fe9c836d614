"""Old home of `status`: the office status is `archivist.office.office_status` now (one function
for `archivist status`, My day and the daily review); re-exported here."""

from __future__ import annotations

from ..liveness import read_state
from ..office import office_status as status

__all__ = ["read_state", "status"]
