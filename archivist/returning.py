"""Returning companies: is a new applicant someone we already know, open or archived?

The quality unit wants every service traceable to a company years later, so a company that comes
back must be linked to its earlier records (`related:` in the new log) instead of starting a second,
unrelated history. Staff type names with Arabic or Persian letters, with or without ZWNJ, with
typos; so names are compared after `fold_compact`, with and without the generic words that most
names share ("شرکت", "گروه", "Co."), allowing a small edit distance. Phone and email match exactly
after normalization.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any, cast

from .config import Config
from .errors import InvalidLogError
from .i18n import _, ngettext
from .naming import GENERIC_WORDS, NameKey, ascii_digits, name_keys, normalize_phone  # noqa: F401 - re-exported
from .record import Record, load_record, log_bytes
from .store import iter_record_folders, layout_of

_COMPANY_LINE = re.compile(r"^company:[ \t]*(.+?)[ \t]*$", re.M)
_CONTACT_FIELD = re.compile(r"\b(mobile|phone|email):[ \t]*([^,}\n]*)")


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 once it must exceed `limit`.

    Only the diagonal band |i - j| <= limit is computed, so comparing a name with every record
    costs a few dozen steps per record instead of len(a) * len(b).
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    big = limit + 1
    prev = [j if j <= limit else big for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        lo, hi = max(1, i - limit), min(len(b), i + limit)
        cur = [big] * (len(b) + 1)
        cur[0] = i if i <= limit else big
        ca = a[i - 1]
        for j in range(lo, hi + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != b[j - 1]), big)
        if min(cur[max(0, lo - 1) : hi + 1]) > limit:
            return big
        prev = cur
    return min(prev[-1], big)


def _allowed_typos(text: str) -> int:
    """How many typos still mean "the same name": none for very short names, 2 for long ones."""
    n = len(text)
    return 0 if n < 4 else 1 if n < 10 else 2


def name_match(new: str | NameKey, old: str | NameKey) -> tuple[float, str] | None:
    """(score, why) if two company names are likely the same company, else None. Pure.

    Either side may be given as its `name_keys` so a loop folds the new name only once.
    """
    a = name_keys(new) if isinstance(new, str) else new
    b = name_keys(old) if isinstance(old, str) else old
    if not a.full or not b.full:
        return None
    if a.full == b.full:
        return 1.0, _("same name")
    if a.core == b.core and len(a.core) >= 3:
        return 0.95, _("same name apart from generic words")
    for x, y in ((a.full, b.full), (a.core, b.core)):
        limit = _allowed_typos(min(x, y, key=len))
        if limit and (d := edit_distance(x, y, limit)) <= limit:
            return 0.9 - 0.1 * d, ngettext("name differs by {d} letter", "name differs by {d} letters", d).format(d=d)
    # "فولاد مبارکه" inside "صنایع فولاد مبارکه اصفهان": whole distinctive words, not letters, and
    # enough of them that one shared word ("پارس") does not link unrelated companies.
    short, long_ = sorted((a.words, b.words), key=len)
    if (
        short
        and set(short) <= set(long_)
        and (len(short) >= 2 and len(long_) - len(short) <= 2 or len(short[0]) >= 5 and len(long_) == 2)
    ):
        return 0.6, _("one name contains the other")
    return None


def _scalar(text: str) -> str:
    text = text.strip()
    if text in ("''", '""', "", "null", "~"):
        return ""
    q = text[:1]
    if q in "\"'":
        if text[-1:] == q and "\\" not in text and q + q not in text[1:-1]:
            return text[1:-1]
        import yaml  # a quoted value with escapes only: `show` and `log` import this module (actions)

        try:
            value = yaml.safe_load(text)
            return "" if value is None else str(value)
        except yaml.YAMLError:
            return text.strip("\"'")
    return text.split(" #", 1)[0].strip()


def _quick_fields(raw: bytes) -> tuple[str, list[str], list[str]]:
    """Company, phones and emails read from a log's text without parsing the YAML (the fast path)."""
    head, _sep, _events = raw.partition(b"\nevents:")  # the timeline can be long and never matters here
    text = head.decode("utf-8", errors="replace")
    m = _COMPANY_LINE.search(text)
    company = _scalar(m.group(1)) if m else ""
    phones, emails = [], []
    for key, value in _CONTACT_FIELD.findall(text):
        v = _scalar(value)
        if not v:
            continue
        if key == "email":
            emails.append(v.lower())
        else:
            phones.append(normalize_phone(v))
    return company, phones, emails


def _summary(rec: Record, score: float, why: str) -> dict[str, Any]:
    last = rec.last_event() or {}
    at = last.get("at")
    return {
        "code": rec.code,
        "lead": rec.lead,
        "case": rec.case,
        "company": rec.company,
        "status": rec.status,
        "archived": rec.status == "archived",
        "staff": rec.staff,
        "last_event": {
            "at": cast(Any, at).isoformat() if hasattr(at, "isoformat") else at,
            "kind": last.get("kind"),
            "by": last.get("by"),
            "note": last.get("note") or "",
        }
        if last
        else None,
        "path": str(rec.folder),
        "score": round(score, 2),
        "why": why,
    }


def find_similar(
    cfg: Config, company: str, phone: str | None = None, email: str | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """Earlier records (open and archived) that are likely the same company, best first.

    Each record is judged by `name_match`, phone and email. The index's normalized columns
    (name keys, canonical phones, email) pick the candidates in one SQL pass: every condition there
    is one `name_match` cannot succeed without (see `_index_candidates`), so the same records are
    judged as a scan of every log would judge (tests compare both on a generated archive), in
    milliseconds instead of seconds. With no usable index every log is read as text instead.
    Only the matches' logs are parsed, from disk, so a match is what its folder holds now.
    Each match is a dict with code, lead, case, company, status, archived, staff, last_event,
    path, score and why.
    """
    want_phone = normalize_phone(phone) if phone else ""
    if len(want_phone) < 7:
        want_phone = ""
    want_email = (email or "").strip().lower()
    want_name = name_keys(company)
    scored: dict[Path, tuple[float, str]] = {}
    codes: dict[Path, str] = {}

    def judge(folder: Path, name: str, phones: list[str], emails: list[str], code: str) -> None:
        best = name_match(want_name, name_keys(name)) if name else None
        if want_phone and want_phone in phones:
            best = max(best or (0, ""), (0.85, _("same phone")))
        if want_email and want_email in emails:
            best = max(best or (0, ""), (0.85, _("same email")))
        if best:
            scored[folder] = max(scored.get(folder, (0, "")), best)
            codes[folder] = code

    candidates = _index_candidates(cfg, want_name, want_phone, want_email)
    if candidates is None:
        _scan(cfg, judge)
    else:
        for folder, name, phones, emails, code in candidates:
            judge(folder, name, phones, emails, code)
    return _summaries(scored, codes, limit)


def catch_up(cfg: Config) -> None:
    """Before a registration's check: an index no daemon keeps live is first brought up to date
    with hand edits (a stat per folder and log, re-reading only what changed), so the check sees
    what a scan of every log would see. Never builds a missing index (the scan covers that), and an
    index that cannot be used now only means the check may miss a record made by hand meanwhile."""
    import sqlite3

    from .errors import ArchivistError
    from .index import catchup, daemon_running, index_exists, open_index

    if not index_exists(cfg) or daemon_running(cfg):
        return
    try:
        with open_index(cfg, build_if_missing=False) as idx:
            if idx.readonly:
                return
            folders = idx.folder_count()
            if folders > catchup.SYNC_FOLDERS:  # too big to walk before answering: in the background
                catchup.start(cfg, _say, folders)
                return
            idx.reconcile_if_free()  # a busy index (another writer) must not hold up a registration
    except (sqlite3.Error, ArchivistError, OSError):
        pass


def _say(message: str, done: int, total: int) -> None:
    print(_("archivist: {message}").format(message=message), file=sys.stderr)


def _scan(cfg: Config, judge: Any) -> None:
    """Every log read as text (no YAML), for an archive without a usable index."""
    from .index.lookup import SLOW_SCAN_S, say_once

    started = time.monotonic()
    for _area, folder in iter_record_folders(layout_of(cfg)):
        raw = log_bytes(folder)
        if not raw:
            continue
        judge(folder, *_quick_fields(raw), _quick_code(raw))
    if time.monotonic() - started >= SLOW_SCAN_S:
        say_once(cfg, _("the returning-company check"))


def _summaries(scored: dict[Path, tuple[float, str]], codes: dict[Path, str], limit: int) -> list[dict[str, Any]]:
    """The `limit` best matches, best first (then by code), each read from its folder now.

    Only those logs are parsed, in the order their score and their code as the index (or the
    log's text) gives it decide: a generic word can make hundreds of equal matches, and parsing
    them all cost a registration a second. A log that no longer parses is passed over."""
    out: list[dict[str, Any]] = []
    for folder in sorted(scored, key=lambda f: (-round(scored[f][0], 2), codes.get(f, ""))):
        if len(out) >= limit:
            break
        score, why = scored[folder]
        try:
            rec = load_record(folder)
        except (InvalidLogError, OSError):
            continue
        out.append(_summary(rec, score, why))
    out.sort(key=lambda m: (-m["score"], m["code"]))
    return out


_CODE_LINES = re.compile(r"^(lead|case):[ \t]*(.+?)[ \t]*$", re.M)


def _quick_code(raw: bytes) -> str:
    """The record's code (its case code, else its applicant code) from the log's text, for ordering."""
    head = raw.partition(b"\nevents:")[0].decode("utf-8", errors="replace")
    found = {key: ascii_digits(_scalar(value)) for key, value in _CODE_LINES.findall(head)}
    return found.get("case") or found.get("lead") or ""


def _pieces(text: str, n: int) -> list[str]:
    """`text` cut into n contiguous pieces as even as possible."""
    size, extra = divmod(len(text), n)
    out, pos = [], 0
    for i in range(n):
        step = size + (1 if i < extra else 0)
        out.append(text[pos : pos + step])
        pos += step
    return out


def _conditions(want: NameKey, phone: str, email: str) -> tuple[list[tuple[str, list[Any], str, list[Any]]], bool]:
    """Each way `judge` could accept a row, as (condition on `records r`, its parameters, a query of
    the ids of rows it may hold for, through an index, and that query's parameters); and whether
    every condition has such a query (a want word with a space in it could not be looked up).

    One condition per way `name_match` can succeed, each necessary for it (a superset, never a
    miss): the same folded name or core; for a typo match, a length within the allowed typos and,
    since k typos leave at least one of k + 1 pieces of the new name untouched, one piece found
    whole in the old name (pigeonhole); for word containment, the new name's first distinctive
    word among the old one's words, or the old one's first word among the new one's; the same
    canonical phone or email. Each index query finds at least every row its condition holds for
    (the same expression through an index on it; the `terms` rows of each stored word and phone;
    for a piece found whole, the rows holding its trigrams, by the trigram FTS tables of the
    company key and the core), so the candidates' ids filtered by the conditions are exactly the
    rows a scan of every row would give."""
    out: list[tuple[str, list[Any], str, list[Any]]] = []
    ok = True
    core = "coalesce(name_core, company_key)"
    if want.full:
        # through the length indexes (records_key_len, records_core_len); "BETWEEN x AND x", as an
        # "= x" would make SQLite read length(company_key) as length(x) and miss the index
        by_key = "SELECT id FROM records WHERE length(company_key) = ? AND company_key BETWEEN ? AND ?"
        out.append(("r.company_key = ?", [want.full], by_key, [len(want.full), want.full, want.full]))
        if len(want.core) >= 3:  # the rows whose core is this are among those whose coalesce is
            by_core = f"SELECT id FROM records WHERE length({core}) = ? AND {core} BETWEEN ? AND ?"
            out.append(("r.name_core = ?", [want.core], by_core, [len(want.core), want.core, want.core]))
        for text, col, fts in ((want.full, "company_key", "fts_company"), (want.core, core, "fts_core")):
            k = _allowed_typos(text)
            if k:
                pieces = _pieces(text, k + 1)
                rcol = col.replace("name_core", "r.name_core").replace("company_key", "r.company_key")
                r_piece = " OR ".join(f"instr({rcol}, ?) > 0" for _ in pieces)
                if min(map(len, pieces)) >= 3:  # a piece whole in the old name: its trigrams are there
                    query = f"SELECT rowid FROM {fts} WHERE {fts} MATCH ?"
                    query_params: list[Any] = [" OR ".join('"' + p.replace('"', '""') + '"' for p in pieces)]
                else:  # too short for trigrams: the rows of a length within the typos
                    any_piece = " OR ".join(f"instr({col}, ?) > 0" for _ in pieces)
                    query = f"SELECT id FROM records WHERE length({col}) BETWEEN ? AND ? AND ({any_piece})"
                    query_params = [len(text) - k, len(text) + k, *pieces]
                out.append((f"(abs(length({rcol}) - ?) <= ? AND ({r_piece}))", [len(text), k, *pieces], query, query_params))
        if want.words:
            first = want.words[0]
            ok = ok and " " not in first
            # the bare instr first: it rules out almost every row without building a string per row
            out.append(
                (
                    "(instr(r.name_words, ?) > 0 AND instr(' ' || r.name_words || ' ', ?) > 0)",
                    [first, f" {first} "],
                    "SELECT rid FROM terms WHERE term = ?",
                    [f"w {first}"],
                )
            )
            words = sorted(set(want.words))
            marks = ",".join("?" * len(words))
            out.append(
                (
                    f"substr(r.name_words, 1, instr(r.name_words || ' ', ' ') - 1) IN ({marks})",
                    words,
                    f"SELECT id FROM records WHERE substr(name_words, 1, instr(name_words || ' ', ' ') - 1) IN ({marks})",
                    words,
                )
            )
    if phone:
        ok = ok and " " not in phone
        out.append(("instr(r.phones, ?) > 0", [f" {phone} "], "SELECT rid FROM terms WHERE term = ?", [f"p {phone}"]))
    if email:
        out.append(("r.email = ?", [email], "SELECT id FROM records WHERE email = ?", [email]))
    return out, ok


def _index_candidates(
    cfg: Config, want: NameKey, phone: str, email: str
) -> list[tuple[Path, str, list[str], list[str], str]] | None:
    """(folder, company, phones, emails, code) of every indexed record `judge` could accept; None
    when there is no usable index.

    The rows `_conditions` gives: the ids each condition's index query finds (a few B-tree look-ups
    and two ranges of a length index, instead of the conditions evaluated on all 100,000 rows),
    then those rows filtered by the conditions themselves; `judge` decides.
    """
    from .index.lookup import reader
    from .index.search import rel_path

    conds, indexed = _conditions(want, phone, email)
    with reader(cfg) as db:
        if db is None:
            return None
        if not conds:
            return []
        where = " OR ".join(c for c, _p, _q, _qp in conds)
        params = [x for _c, p, _q, _qp in conds for x in p]
        columns = 'r.area, r.name, r.folder, r.lead, r."case", r.staff, r.company, r.phones, r.email'
        try:
            if indexed:
                ids = " UNION ".join(q for _c, _p, q, _qp in conds)
                rows = db.execute(
                    f"SELECT {columns} FROM records r WHERE r.id IN ({ids}) AND ({where})",
                    [x for _c, _p, _q, qp in conds for x in qp] + params,
                ).fetchall()
            else:
                rows = _scan_rows(db, columns, where, params)
        except sqlite3.DatabaseError:
            return None
    return [
        (
            cfg.root / rel_path(row),
            row["company"] or "",
            (row["phones"] or "").split(),
            [row["email"]] if row["email"] else [],
            row["case"] or row["lead"] or "",
        )
        for row in rows
    ]


def _scan_rows(db: sqlite3.Connection, columns: str, where: str, params: list[Any]) -> list[sqlite3.Row]:
    """The conditions evaluated on every row (what no index can answer), with a small page cache:
    else the scan alone fills 32 MB of this process (a registration's peak RSS)."""
    from .index.schema import small_cache

    with small_cache(db):
        return db.execute(f"SELECT {columns} FROM records r WHERE {where}", params).fetchall()
