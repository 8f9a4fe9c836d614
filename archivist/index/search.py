"""Search (SPEC §7): codes, numbers, phones, company (partial and one-typo tolerant), everything else.

A query runs through stages from most to least specific; each stage returns its best `limit`
records and the union is ordered by (score, applicant code), so exact code hits come first, then
company matches, then the rest, and the order never depends on how the index was built.

| score | matched                         | how                                                  |
|-------|---------------------------------|------------------------------------------------------|
| 100   | lead / case                     | the query is a 5- or 4-digit code (any digit script)  |
| 90    | contract / invoice / tax_id     | exact number (spaces and dashes ignored)             |
| 88–80 | company                         | the whole name, its first words, the words in order, |
|       |                                 | every word somewhere (whole words, ZWNJ-blind)       |
| 86    | name (person)                   | the whole query is a contact's full name (folded)    |
| 70    | phone                           | canonical phone form, any written form (. / ( ) too) |
| 55–38 | ids / name / note / file        | FTS5 whole words as typed                            |
| 37    | company                         | part of a word of the name ("توس" in "توسعه")        |
| 36–34 | ids / name / note / file        | a word that only begins with what was typed          |
| 33/32 | company~ / name~                | each word (or all run together) one edit from a name |
| 30    | text                            | the words spread over several fields                 |

A word found whole, as typed (in a note, a file name, a contact name), outranks a name that only
holds it inside a longer word or one letter away from it: `کاهش` in 500 notes comes before 45
companies called `کاوش` (issue 16), `توس` before `توسعه`, `محمد رضایی` before `محمدی`
(bench/search_oracle.py measures this against a plain oracle).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config
from ..naming import ascii_digits, fold, normalize_code, normalize_phone
from ..store import AREAS
from .build import SPARSE
from .search_text import SEP, number_key, split_contact, within_one_edit

HIT_COLUMNS = 'r.id, r.lead, r."case", r.company, r.staff, r.status, r.next_ts, r.area, r.name, r.folder, r.stale'
# written exactly as schema.py's records_order/records_next/records_stage indexes are, so SQLite
# reads rows in this order from an index instead of sorting them all first
CODE_ORDER = "coalesce(r.lead, '~'), coalesce(r.\"case\", ''), r.area, coalesce(r.name, '')"
_PHONE_CHARS = re.compile(r"^[\s\d+()\-./۰-۹٠-٩]+$")
PERSON_CANDIDATES = 2000  # records holding every word of a full name, checked for that exact person


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _filters(status: str | None, staff: str | None, archived: bool | None) -> tuple[str, list[Any]]:
    sql, args = [], []
    if status:
        sql.append("r.status = ?")
        args.append(status)
    if staff:
        sql.append("r.staff = ?")
        args.append(normalize_code(staff).zfill(2))
    if archived is True:
        sql.append("r.area >= 2")  # store.AREAS: the two archive areas come last
    elif archived is False:
        sql.append("r.area < 2")
    return "".join(f" AND {s}" for s in sql), args


def rel_path(row: sqlite3.Row) -> str:
    """The record folder relative to the root, as it is on disk (r.folder): the config's template
    gives a folder that does not exist once naming.applicant_folder changed (no folder is renamed)."""
    return f"{AREAS[row['area']]}/{row['folder']}"


def hit(cfg: Config, row: sqlite3.Row, score: int | None = None, matched: str | None = None) -> dict[str, Any]:
    out = {
        "lead": row["lead"],
        "case": row["case"],
        "company": row["company"],
        "staff": row["staff"],
        "status": row["status"],
        "next_followup": iso_of(cfg, row["next_ts"]),
        "path": f"{cfg.root}/{rel_path(row)}",
        "stale": bool(row["stale"]),
    }
    if score is not None:
        out["score"] = score
        out["matched"] = matched
    return out


def iso_of(cfg: Config, ts: int | None) -> str | None:
    """Epoch seconds as ISO 8601 in the office's timezone (how the index hands dates back)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, _zone(cfg.timezone)).isoformat()


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class _Hits:
    def __init__(self) -> None:
        self.best: dict[int, tuple[int, str, sqlite3.Row]] = {}

    def add(self, rows: list[sqlite3.Row], score: int | None, matched: str) -> None:
        for row in rows:
            s = score if score is not None else row["score"]
            prev = self.best.get(row["id"])
            if prev is None or prev[0] < s:
                self.best[row["id"]] = (s, matched, row)

    def at_least(self, score: int) -> int:
        """How many records matched with at least this score."""
        return sum(1 for s, _, _ in self.best.values() if s >= score)

    def ranked(self, cfg: Config, limit: int) -> list[dict[str, Any]]:
        items = sorted(self.best.values(), key=lambda t: (-t[0], _code_order(t[2])))
        return [hit(cfg, row, score, matched) for score, matched, row in items[:limit]]


FIELDS = (("ids", 55, "ids"), ("names", 50, "name"), ("notes", 40, "note"), ("files", 38, "file"))
PREFIX_ONLY = {"ids": 36, "names": 36, "notes": 35, "files": 34}  # the word only begins with what was typed
WHOLE = 38  # scores from here up: what was typed is there as whole words
PART_OF_NAME = 37  # the company name holds it only inside a longer word


@dataclass
class _Query:
    """What every stage of a search needs: the text as typed and folded, the filters, the limit."""

    db: sqlite3.Connection
    text: str
    folded: str
    where: str
    args: list[Any]
    limit: int
    tail: bool  # the index has rows past SPARSE (see _fts)

    @property
    def compact(self) -> str:
        return self.folded.replace(" ", "")

    @property
    def words(self) -> list[str]:
        return self.folded.split()

    @property
    def long_words(self) -> list[str]:
        return [w for w in self.words if len(w) >= 3]

    def rows(self, sql: str, params: list[Any]) -> list[sqlite3.Row]:
        return self.db.execute(sql, params).fetchall()


def search(
    db: sqlite3.Connection,
    cfg: Config,
    query: str,
    limit: int = 50,
    status: str | None = None,
    staff: str | None = None,
    archived: bool | None = None,
) -> list[dict[str, Any]]:
    """Records matching what was typed, best first: one stage per kind of match, each adding its
    hits with its score (a record keeps its best); the later, costlier stages run only while needed."""
    folded = fold(query)
    if not folded or limit <= 0:
        return []
    where, args = _filters(status, staff, archived)
    tail = bool(db.execute("SELECT EXISTS(SELECT 1 FROM records WHERE id >= ?)", (SPARSE,)).fetchone()[0])
    q = _Query(db, query, folded, where, args, limit, tail)
    hits = _Hits()
    _by_code(q, hits)
    _by_number(q, hits)
    company_hits = _by_company(q, hits)
    _by_person(q, hits)
    phone_like = _by_phone(q, hits)
    if hits.at_least(WHOLE) < limit:
        _as_typed(q, hits)
    if company_hits < limit and not phone_like and q.long_words:
        _one_letter_off(q, hits)
    if not hits.best and len(q.words) > 1:
        _across_fields(q, hits)
    return hits.ranked(cfg, limit)


def _by_code(q: _Query, hits: _Hits) -> None:
    """1. an applicant (5 digits) or case (4 digits) code."""
    compact = q.compact
    if re.fullmatch(r"\d{5}", compact):
        hits.add(
            q.rows(f"SELECT {HIT_COLUMNS} FROM records r WHERE r.lead = ?{q.where} LIMIT ?", [compact, *q.args, q.limit]),
            100,
            "lead",
        )
    elif re.fullmatch(r"\d{4}", compact):
        hits.add(
            q.rows(f'SELECT {HIT_COLUMNS} FROM records r WHERE r."case" = ?{q.where} LIMIT ?', [compact, *q.args, q.limit]),
            100,
            "case",
        )


def _by_number(q: _Query, hits: _Hits) -> None:
    """2. contract and invoice numbers, tax IDs."""
    key = number_key(q.text)
    if len(key) >= 4 and any(ch.isdigit() for ch in key):
        for row in q.rows(
            f"SELECT {HIT_COLUMNS}, n.kind FROM numbers n JOIN records r ON r.id = n.rid "
            f"WHERE n.number = ?{q.where} ORDER BY {CODE_ORDER} LIMIT ?",
            [key, *q.args, q.limit],
        ):
            hits.add([row], 90, row["kind"])


def _by_company(q: _Query, hits: _Hits) -> int:
    """3. company: the typed words whole in the name (88–80), else inside longer words (37, after every
    whole-word hit of the later stages); how many matched whole."""
    if not q.long_words:
        return 0
    compact, words = q.compact, q.words
    match = " AND ".join(_quote(w) for w in q.long_words)
    short = [w for w in words if len(w) < 3]
    extra = "".join(" AND instr(r.company_key, ?) > 0" for _ in short)
    phrase = f" {q.folded} "
    joined = f" {compact} "  # "بهسازان" typed, "به سازان" written (company_words holds neighbours run together)
    each = " AND ".join("instr(r.company_words, ?) > 0" for _ in words)
    found = q.rows(
        f"SELECT {HIT_COLUMNS}, CASE WHEN r.company_key = ? THEN 88 "
        f"WHEN substr(r.company_words, 1, ?) = ? THEN 85 "
        f"WHEN instr(r.company_words, ?) > 0 OR instr(r.company_words, ?) > 0 THEN 82 "
        f"WHEN {each} THEN 80 ELSE {PART_OF_NAME} END AS score "
        f"FROM fts_company c JOIN records r ON r.id = c.rowid WHERE fts_company MATCH ?{extra}{q.where} "
        f"ORDER BY score DESC, {CODE_ORDER} LIMIT ?",
        [compact, len(phrase), phrase, phrase, joined, *(f" {w} " for w in words), match, *short, *q.args, q.limit],
    )
    hits.add(found, None, "company")
    return sum(1 for row in found if row["score"] > PART_OF_NAME)


def _by_person(q: _Query, hits: _Hits) -> None:
    """3b. a full person name: records with exactly that contact person (or consultant) first."""
    if len(q.words) >= 2:
        hits.add(_exact_person(q.db, q.folded, q.words, q.where, q.args, q.limit), 86, "name")


def _by_phone(q: _Query, hits: _Hits) -> bool:
    """4. a phone number in any written form; whether the query looks like one."""
    digits = re.sub(r"\D", "", ascii_digits(q.text))
    phone = normalize_phone(q.text)
    phone_like = len(digits) >= 7 and bool(_PHONE_CHARS.match(q.text.strip())) and phone.startswith("0")
    if phone_like:
        hits.add(_fts(q.db, "ids", f"{_quote(phone)}*", q.where, q.args, q.limit, q.tail), 70, "phone")
    return phone_like


def _as_typed(q: _Query, hits: _Hits) -> None:
    """5. the words as typed in each field (ids, names, notes, file names): whole words at the
    field's score, then (while fewer than `limit`) words that only begin with them, lower."""
    exact, prefixed = " AND ".join(_quote(w) for w in q.words), _terms(q.words)
    for table, score, label in FIELDS:
        # whole words first: a short prefix of a common word would merge many long doclists
        found = _fts(q.db, table, exact, q.where, q.args, q.limit, q.tail)
        hits.add(found, score, label)
        if len(found) < q.limit and prefixed != exact:
            whole = {row["id"] for row in found}
            more = _fts(q.db, table, prefixed, q.where, q.args, q.limit, q.tail)
            hits.add([row for row in more if row["id"] not in whole], PREFIX_ONLY[table], label)


def _one_letter_off(q: _Query, hits: _Hits) -> None:
    """6. one wrong, missing or extra letter in a name word (only words no name has as typed)."""
    known = _known_words(q.db, q.long_words)
    if len(known) >= len(q.long_words):
        return
    groups, every = [], set()
    for w in q.words:
        cands = {w} if w in known or len(w) < 3 else _neighbours(q.db, w)
        every |= cands
        groups.append("(" + " OR ".join(_quote(c) for c in sorted(cands)) + ")")
    match = " AND ".join(groups)
    if len(q.words) > 1:  # "نو‌آاران" typed with a ZWNJ, "نوآوران" written run together
        joined = _neighbours(q.db, q.compact)
        every |= joined
        match = f"({match}) OR (" + " OR ".join(_quote(c) for c in sorted(joined)) + ")"
    for row in _fts(q.db, "names", match, q.where, q.args, q.limit, q.tail):
        if row["id"] in hits.best:
            continue  # found as typed: the earlier stages said where
        words = fold(row["company"] or "").split()
        in_company = bool(every & {*words, *(a + b for a, b in zip(words, words[1:], strict=False))})
        hits.add([row], 33 if in_company else 32, "company~" if in_company else "name~")


def _across_fields(q: _Query, hits: _Hits) -> None:
    """7. the words spread over several fields: a last resort, after the typo stage, because it has
    to union whole doclists (80 ms for a typo next to a common word like "کارخانه", for nothing)."""
    hits.add(_across(q.db, q.words, q.where, q.args, q.limit), 30, "text")


def _exact_person(
    db: sqlite3.Connection, folded: str, words: list[str], where: str, args: list[Any], limit: int
) -> list[sqlite3.Row]:
    """Records whose contact person or consultant, folded, is exactly the query."""
    match = " AND ".join(_quote(w) for w in words)
    try:
        cands = db.execute(
            f"SELECT {HIT_COLUMNS}, r.contact FROM fts_names t JOIN records r ON r.id = t.rowid "
            f"WHERE fts_names MATCH ?{where} LIMIT ?",
            [match, *args, PERSON_CANDIDATES],
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    out = []
    for row in cands:
        contact = split_contact(row["contact"])
        if folded in (fold(contact.get("person") or ""), fold(contact.get("consultant") or "")):
            out.append(row)
    return sorted(out, key=_code_order)[:limit]


def _terms(words: list[str]) -> str:
    """All words, as typed; a prefix match for words of 3+ letters (4+ digits)."""
    return " AND ".join(_term(w) for w in words)


def _term(w: str) -> str:
    return _quote(w) + ("*" if len(w) >= (4 if w.isdigit() else 3) else "")


def _fts(
    db: sqlite3.Connection, table: str, match: str, where: str, args: list[Any], limit: int, tail: bool
) -> list[sqlite3.Row]:
    """The first `limit` matches in one field's FTS table, by applicant code, without sorting them all.

    Rows from the last full build have their applicant code as id, so FTS5's rowid order is code
    order and LIMIT stops early; rows re-read since then (ids from SPARSE up, few) are fetched
    and merged, so the answer is the same as a fresh build would give.
    """
    sql = (
        f"SELECT {HIT_COLUMNS} FROM fts_{table} t JOIN records r ON r.id = t.rowid "
        f"WHERE fts_{table} MATCH ? AND t.rowid {{}} ?{where}"
    )
    try:
        dense = db.execute(sql.format("<") + " ORDER BY t.rowid LIMIT ?", [match, SPARSE, *args, limit]).fetchall()
        if not tail:
            return dense
        sparse = db.execute(sql.format(">="), [match, SPARSE, *args]).fetchall()
    except sqlite3.OperationalError:
        return []  # a query FTS5 cannot parse finds nothing rather than failing the search
    return sorted(dense + sparse, key=_code_order)[:limit]


def _across(db: sqlite3.Connection, words: list[str], where: str, args: list[Any], limit: int) -> list[sqlite3.Row]:
    """Records holding every word, each word in any field (a name word plus a note word, …)."""
    per_word = []
    params: list[Any] = []
    for w in words:
        per_word.append(" UNION ".join(f"SELECT rowid FROM fts_{t} WHERE fts_{t} MATCH ?" for t, _, _ in FIELDS))
        params += [_term(w)] * len(FIELDS)
    ids = " INTERSECT ".join(f"SELECT * FROM ({q})" for q in per_word)
    try:
        return db.execute(
            f"SELECT {HIT_COLUMNS} FROM records r WHERE r.id IN ({ids}){where} ORDER BY {CODE_ORDER} LIMIT ?",
            [*params, *args, limit],
        ).fetchall()
    except sqlite3.OperationalError:
        return []


def _code_order(row: sqlite3.Row) -> tuple[str, str, int, str]:
    return (row["lead"] or "~", row["case"] or "", row["area"], row["name"] or "")


def _known_words(db: sqlite3.Connection, words: list[str]) -> set[str]:
    marks = ",".join("?" * len(words))
    return {r[0] for r in db.execute(f"SELECT key FROM vocab WHERE key IN ({marks}) AND key = word", words)}


def _neighbours(db: sqlite3.Connection, word: str) -> set[str]:
    """Name words within one edit of `word` (deletion-neighbourhood look-up, then verified)."""
    keys = [word] + [word[:i] + word[i + 1 :] for i in range(len(word))]
    marks = ",".join("?" * len(keys))
    found = {r[0] for r in db.execute(f"SELECT DISTINCT word FROM vocab WHERE key IN ({marks})", keys)}
    return {w for w in found if within_one_edit(word, w)} | {word}


def get(db: sqlite3.Connection, cfg: Config, code: str) -> dict[str, Any] | None:
    c = normalize_code(code)
    col = "lead" if len(c) == 5 else '"case"' if len(c) == 4 else None
    if col is None or not c.isdigit():
        return None
    row = db.execute(f"SELECT * FROM records r WHERE {col} = ? ORDER BY stale, {CODE_ORDER} LIMIT 1", (c,)).fetchone()
    return detail(cfg, row) if row else None


def detail(cfg: Config, row: sqlite3.Row) -> dict[str, Any]:
    """A hit plus everything else the index knows (what `get` returns and the export uses)."""
    out = hit(cfg, row)
    out.update(
        {
            "area": AREAS[row["area"]],
            "archived": row["area"] >= 2,
            "contact": split_contact(row["contact"]),
            "services": row["services"].split(SEP) if row["services"] else [],
            "contract": row["contract"],
            "invoices": [
                dict(zip(("number", "tax_id", "date", "amount"), inv, strict=True))
                for inv in (json.loads(row["invoices"]) if row["invoices"] else [])
            ],
            "opened": iso_of(cfg, row["opened_ts"]),
            "stage_since": iso_of(cfg, row["stage_ts"]),
            "last_event": {"at": iso_of(cfg, row["last_ts"]), "kind": row["last_kind"]} if row["last_ts"] else None,
            "files": row["files"],
        }
    )
    return out


def list_records(
    db: sqlite3.Connection, cfg: Config, status: str | None, staff: str | None, archived: bool | None = None
) -> list[dict[str, Any]]:
    return list(iter_records(db, cfg, status, staff, archived))


def count_records(db: sqlite3.Connection, status: str | None, staff: str | None, archived: bool | None = None) -> int:
    where, args = _filters(status, staff, archived)
    return int(db.execute(f"SELECT count(*) FROM records r WHERE r.status IS NOT NULL{where}", args).fetchone()[0])


def iter_records(
    db: sqlite3.Connection, cfg: Config, status: str | None, staff: str | None, archived: bool | None = None
) -> Iterator[dict[str, Any]]:
    """`list_records` one row at a time, as SQLite hands them over (`list` prints the first line
    at once and never holds 100,000 rows)."""
    where, args = _filters(status, staff, archived)
    cur = db.execute(f"SELECT {HIT_COLUMNS} FROM records r WHERE r.status IS NOT NULL{where} ORDER BY {CODE_ORDER}", args)
    for row in cur:
        out = hit(cfg, row)
        del out["stale"]
        yield out


def iter_brief(
    db: sqlite3.Connection, status: str | None, staff: str | None, archived: bool | None = None
) -> Iterator[tuple[str | None, str | None, str | None, str, str | None]]:
    """`iter_records` as (lead, case, staff, status, company) tuples, what `list` prints: the same
    rows in the same order, without building each record's folder path and follow-up date."""
    where, args = _filters(status, staff, archived)
    return db.execute(  # type: ignore[no-any-return]
        f'SELECT r.lead, r."case", r.staff, r.status, r.company FROM records r WHERE r.status IS NOT NULL{where} '
        f"ORDER BY {CODE_ORDER}",
        args,
    )
