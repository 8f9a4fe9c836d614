"""Returning companies: a new registration is compared with every earlier record, open and
archived, with Persian normalization and room for a typo; matches are linked under `related:`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archivist import workflow
from archivist.config import Config
from archivist.record import LOG_NAME
from archivist.returning import edit_distance, find_similar, name_match

ARCHIVED = "شرکت نمونه"


@pytest.fixture
def archived(cfg: Config) -> str:
    """The archived "شرکت نمونه": registered, declined, CRM done, archived."""
    rec = workflow.register(
        cfg, company=ARCHIVED, staff="07", by="07", contact={"mobile": "0912 123 4567", "email": "info@nemooneh.ir"}
    )
    for step in (workflow.decline, workflow.crm, workflow.archive):
        rec = step(cfg, rec.lead, by="07")
    assert rec.status == "archived" and rec.folder and "archive/applicants" in rec.folder.as_posix()
    return rec.lead


def records(cfg: Config) -> list[Path]:
    return sorted(cfg.root.glob("*/*/" + LOG_NAME)) + sorted(cfg.root.glob("archive/*/*/" + LOG_NAME))


@pytest.mark.parametrize(
    "typed",
    [
        "شركت نمونه",  # Arabic kaf
        "شرکت نمونع",  # one typo (ه → ع)
        "شرکت نمنه",  # one letter missing
        "شرکت‌نمونه",  # ZWNJ instead of a space
        "  شرکت   نمونه ",  # stray spaces
        "نمونه",  # without the generic word
    ],
)
def test_registering_a_variant_finds_the_archived_record(cfg: Config, archived: str, typed: str) -> None:
    [match] = find_similar(cfg, typed)
    assert match["code"] == archived and match["company"] == ARCHIVED
    assert match["archived"] is True and match["status"] == "archived"
    assert match["last_event"]["kind"] == "archived"


def test_unrelated_companies_are_not_matched(cfg: Config, archived: str) -> None:
    for other in ("شرکت آریا سپهر", "Acme Trading", "شرکت نگین", "نو"):
        assert find_similar(cfg, other) == [], other


def test_same_phone_or_email_matches_under_another_name(cfg: Config, archived: str) -> None:
    [by_phone] = find_similar(cfg, "گروه صنعتی دیگر", phone="+98 ۹۱۲ ۱۲۳ ۴۵۶۷")
    assert by_phone["code"] == archived and by_phone["why"] == "same phone"
    [by_email] = find_similar(cfg, "Other Name", email="INFO@nemooneh.ir")
    assert by_email["code"] == archived and by_email["why"] == "same email"


def test_open_records_and_cases_are_compared_too(cfg: Config, archived: str) -> None:
    rec = workflow.register(cfg, company="شرکت نمونه", staff="01", by="01", related=[archived])
    case = workflow.convert(cfg, rec.lead, service="2", by="01").case
    matches = find_similar(cfg, "شركت نمونه")
    assert {m["code"] for m in matches} == {archived, case}
    opened = next(m for m in matches if m["code"] == case)
    assert opened["status"] == "open" and opened["archived"] is False and opened["last_event"]["kind"] == "converted"


def test_register_refuses_without_yes_when_not_on_a_terminal(cli, cfg: Config, archived: str) -> None:
    before = records(cfg)
    code, out, err = cli("register", "--company", "شركت نمونه", "--staff", "01")
    assert code == 1
    assert archived in err and "archived" in err and "--yes" in err
    assert records(cfg) == before  # nothing registered


def test_register_with_yes_links_the_earlier_record(cli, cfg: Config, archived: str) -> None:
    code, out, err = cli("register", "--company", "شرکت نمونع", "--staff", "01", "--yes")
    assert code == 0
    lead = out.strip()
    log = yaml.safe_load((workflow.show(cfg, lead).folder / LOG_NAME).read_text(encoding="utf-8"))
    assert log["related"] == [archived]
    assert log["company"] == "شرکت نمونع"


def test_register_json_reports_matches(cli, cfg: Config, archived: str) -> None:
    code, out, _ = cli("register", "--company", "شركت نمونه", "--staff", "01", "--json")
    assert code == 1
    refused = json.loads(out)
    assert refused["registered"] is False and [m["code"] for m in refused["matches"]] == [archived]

    code, out, _ = cli("register", "--company", "شركت نمونه", "--staff", "01", "--json", "--yes")
    assert code == 0
    rec = json.loads(out)
    assert rec["company"] == "شرکت نمونه" and rec["related"] == [archived]
    assert [m["code"] for m in rec["matches"]] == [archived]


def test_register_of_a_new_company_asks_nothing(cli, cfg: Config, archived: str) -> None:
    code, out, err = cli("register", "--company", "شرکت آریا سپهر", "--staff", "01")
    assert code == 0 and err == ""
    log = yaml.safe_load((workflow.show(cfg, out.strip()).folder / LOG_NAME).read_text(encoding="utf-8"))
    assert "related" not in log


def test_register_asks_on_a_terminal(config_file: Path, cfg: Config, archived: str) -> None:
    """On a real pseudo-terminal the earlier records are shown and `y` registers anyway."""
    env = {**os.environ, "ARCHIVIST_STAFF": "01"}
    results = {}
    for answer in ("n", "y"):
        master, slave = os.openpty()
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "archivist",
                    "--config",
                    str(config_file),
                    "register",
                    "--company",
                    "شركت نمونه",
                    "--staff",
                    "01",
                ],
                stdin=slave,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
            os.write(master, f"{answer}\n".encode())
            out, err = proc.communicate(timeout=60)
        finally:
            os.close(master)
            os.close(slave)
        results[answer] = (proc.returncode, out.decode(), err.decode())
    code, out, err = results["n"]
    assert code == 1 and archived in err and "not registered" in err
    code, out, err = results["y"]
    assert code == 0 and archived in err
    log = yaml.safe_load((workflow.show(cfg, out.strip()).folder / LOG_NAME).read_text(encoding="utf-8"))
    assert log["related"] == [archived]


def test_name_rules() -> None:
    assert name_match("شرکت نمونه", "شركت  نمونه")[1] == "same name"
    assert name_match("Pars Co.", "pars company")[1] == "same name apart from generic words"
    assert name_match("آسا", "آسیا") is None  # too short to allow a typo
    assert name_match("صنایع فولاد مبارکه", "فولاد مبارکه اصفهان")[1] == "one name contains the other"
    assert edit_distance("نمونه", "نمونع", 1) == 1
    assert edit_distance("نمونه", "آریا", 2) == 3  # stops early past the limit


def test_one_shared_word_does_not_link_companies(cfg: Config) -> None:
    for name in ("Trading Co", "شرکت پارس خودرو", "گروه صنعتی نمونه آریا سپهر"):
        workflow.register(cfg, company=name, staff="01", by="01")
    assert find_similar(cfg, "Acme Trading Zeta") == []
    assert find_similar(cfg, "شرکت پارس") == []
    assert find_similar(cfg, "شرکت نمونه") == []


def _variants(name: str, rng) -> list[str]:  # type: ignore[no-untyped-def]
    """How staff retype a known name: as is, a letter wrong, missing or extra, two wrong, Arabic
    letters, a generic word added or dropped, part of it."""
    out = [
        name,
        name.replace("ی", "ي").replace("ک", "ك"),
        f"شرکت {name}",
        " ".join(name.split()[1:]),
        " ".join(name.split()[:2]),
        name.split()[0],
    ]
    for _ in range(3):
        i = rng.randrange(len(name))
        out += [name[:i] + "ع" + name[i + 1 :], name[:i] + name[i + 1 :], name[:i] + "ز" + name[i:]]
        j = rng.randrange(len(name))
        out.append((name[:i] + "ع" + name[i + 1 :])[:j] + "پ" + (name[:i] + "ع" + name[i + 1 :])[j + 1 :])
    return [v for v in out if v.strip()]


def test_the_index_finds_exactly_what_reading_every_log_finds(cfg: Config) -> None:
    """The returning-company check through the index's normalized columns gives the same answers
    as reading every log, on a generated archive (names, typos, generic words, phones, emails)."""
    import random
    from datetime import datetime

    from archivist.index import reindex, schema
    from archivist.index.lookup import close_readers
    from archivist.record import load_record
    from bench.generate import generate

    generate(cfg, 250, seed=3, now=datetime.fromisoformat("2026-11-23T10:00:00+03:30"))
    workflow.register(cfg, company="صنایع فولاد مبارکه اصفهان", staff="01", by="01")
    workflow.register(cfg, company="Pars Co.", staff="02", by="02", contact={"email": "Sales@Pars.example"})
    rng = random.Random(5)
    logs = records(cfg)
    queries: list[tuple[str, str | None, str | None]] = [
        ("فولاد مبارکه", None, None),
        ("pars company", None, None),
        ("Other", None, "sales@pars.EXAMPLE"),
        ("نو", None, None),
        ("Acme Trading Zeta", None, None),
        ("", None, None),
    ]
    for log in rng.sample(logs, 10):
        rec = load_record(log.parent)
        phone = rec.contact.get("mobile") or rec.contact.get("phone") or None
        queries += [(v, None, None) for v in _variants(rec.company, rng)]
        queries.append(("نام دیگری", phone, rec.contact.get("email", "").upper() or None))
    reindex(cfg)
    through_index = [find_similar(cfg, q, phone=p, email=e, limit=1000) for q, p, e in queries]
    close_readers()
    schema.remove_files(cfg.index_file)
    assert not cfg.index_file.exists()
    by_scan = [find_similar(cfg, q, phone=p, email=e, limit=1000) for q, p, e in queries]
    assert sum(map(len, by_scan)) > len(queries)  # the comparison is not of empty answers
    for query, a, b in zip(queries, through_index, by_scan, strict=True):
        assert a == b, query


def test_a_record_made_by_hand_since_the_index_was_built_is_found_at_registration(cfg: Config, cli) -> None:
    """No daemon: a folder copied and edited by hand after the index was built is still found by
    the returning-company check (the index is caught up first, as a scan of every log would)."""
    from archivist.record import dump_yaml

    workflow.register(cfg, company="شرکت اول", staff="01", by="01")
    assert cli("reindex")[0] == 0
    src = next(cfg.root.glob("applicants/*"))
    data = yaml.safe_load((src / LOG_NAME).read_text(encoding="utf-8"))
    data.update(lead="00077", company="صنایع آیینه کاران یزد")
    made = cfg.root / "applicants" / "صنایع آیینه کاران یزد - 01 - 00077"
    made.mkdir()
    (made / LOG_NAME).write_bytes(dump_yaml(data))
    code, _out, err = cli("register", "--company", "آیینه‌کاران یزد", "--staff", "02")
    assert code == 1 and "00077" in err


def test_the_candidates_come_from_index_look_ups_and_equal_the_scan_of_every_row(cfg: Config) -> None:
    """The returning-company check evaluated its conditions on every indexed row (~0.12 s at
    100,000 records, per registration). Each condition now has an index query that finds every row
    it can hold for: the rows kept are exactly those the scan of every row keeps, on a generated
    archive (names retyped with typos, generic words, parts; phones; emails), after a full build
    and after records were added, changed and moved through the live index; and the query plan
    reads no table from end to end."""
    import random
    from datetime import datetime

    from archivist.index import reindex
    from archivist.index.hook import close_all, install
    from archivist.index.lookup import reader
    from archivist.naming import name_keys, normalize_phone
    from archivist.record import load_record
    from archivist.returning import _conditions, _index_candidates, _scan_rows
    from bench.generate import generate

    generate(cfg, 300, seed=7, now=datetime.fromisoformat("2026-11-23T10:00:00+03:30"))
    reindex(cfg)
    install()  # later records reach the index row by row (insert_scan), as without a daemon
    try:
        workflow.register(cfg, company="صنایع فولاد مبارکه اصفهان", staff="01", by="01", contact={"mobile": "09121112233"})
        moved = workflow.register(cfg, company="Pars Co.", staff="02", by="02", contact={"email": "Sales@Pars.example"})
        for step in (workflow.decline, workflow.crm, workflow.archive):
            step(cfg, moved.lead, by="02")
        rng = random.Random(11)
        queries: list[tuple[str, str, str]] = [("فولاد مبارکه", "", ""), ("pars company", "", "sales@pars.example")]
        queries.append(("نام دیگری", normalize_phone("0912 111 2233"), ""))
        for log in rng.sample(records(cfg), 25):
            rec = load_record(log.parent)
            phone = normalize_phone(rec.contact.get("mobile") or rec.contact.get("phone") or "")
            email = (rec.contact.get("email") or "").strip().lower()
            queries += [(v, phone if len(phone) >= 7 else "", email) for v in _variants(rec.company, rng)]
        compared = 0
        for name, phone, email in queries:
            conds, indexed = _conditions(name_keys(name), phone, email)
            assert indexed
            with reader(cfg) as db:
                assert db is not None
                where = " OR ".join(c for c, _p, _q, _qp in conds)
                params = [x for _c, p, _q, _qp in conds for x in p]
                scanned = sorted(tuple(r) for r in _scan_rows(db, 'r.area, r.folder, r.lead, r."case"', where, params))
                ids = " UNION ".join(q for _c, _p, q, _qp in conds)
                plan = " | ".join(
                    str(r[3]) for r in db.execute(f"EXPLAIN QUERY PLAN {ids}", [x for _c, _p, _q, qp in conds for x in qp])
                )
            candidates = _index_candidates(cfg, name_keys(name), phone, email)
            assert candidates is not None
            assert sorted((str(f), c) for f, _n, _p, _e, c in candidates) == sorted(
                (str(cfg.root / _rel(cfg, row)), row[3] or row[2] or "") for row in scanned
            ), name
            assert "SCAN records" not in plan and "SCAN terms" not in plan, plan
            compared += len(scanned)
        assert compared > len(queries)  # the comparison is not of empty answers
    finally:
        close_all()


def _rel(cfg: Config, row: tuple) -> str:  # type: ignore[type-arg]
    from archivist.store import AREAS

    return f"{AREAS[row[0]]}/{row[1]}"
