"""Search as staff type it: Persian spelling variants, typos, phones in any form, codes in any digits.

One real archive (150 generated records sharing words with ours, plus records made through the
workflow and one hand-edited log) answers a table of queries; each must put the expected record
first. Ranking: exact code hits, then company matches, then everything else.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from archivist import workflow
from archivist.config import Config, load_config
from archivist.index import Index, open_index
from archivist.invoices import make_tax_id
from archivist.record import LOG_NAME
from bench.generate import generate

from .conftest import CONFIG_TEXT

NOW = "2026-11-23T10:00:00+03:30"
FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, dict[str, dict[str, str]], Index]:
    base = tmp_path_factory.mktemp("search")
    (base / "config.yaml").write_text(CONFIG_TEXT, encoding="utf-8")
    cfg = load_config(base / "config.yaml")
    old_now = os.environ.get("ARCHIVIST_NOW")
    os.environ["ARCHIVIST_NOW"] = NOW
    try:
        generate(cfg, 150, seed=7, now=datetime.fromisoformat(NOW))
        rec = _make_records(cfg)
    finally:
        if old_now is None:
            os.environ.pop("ARCHIVIST_NOW", None)
        else:
            os.environ["ARCHIVIST_NOW"] = old_now
    idx = open_index(cfg)
    yield cfg, rec, idx
    idx.close()


def _make_records(cfg: Config) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    a = workflow.register(
        cfg,
        company="شرکت فرادید",
        staff="01",
        by="01",
        contact={"person": "بردیا آذرخش", "mobile": "09121234567", "email": "info@faradid.ir"},
        services=["1"],
        requests=["پیش‌فاکتور"],
    )
    workflow.log_event(cfg, a.lead, kind="call", note="قرار جلسه با مدیرعامل", by="01")
    a = workflow.convert(cfg, a.lead, service="1", by="01")
    a = workflow.sign_contract(cfg, a.code, by="01")
    tax = make_tax_id("A1B2C3", datetime(2026, 11, 20), 4711)
    a = workflow.add_invoice(cfg, a.code, by="01", tax_id=tax, amount="120000000")
    out["A"] = {
        "lead": a.lead,
        "case": a.case or "",
        "contract": a.contract or "",
        "invoice": str(a.invoices[-1]["number"]),
        "tax": tax,
    }

    b = workflow.register(
        cfg,
        company="گروه صنعتی کیمیا‌گران سپیدرود",
        staff="02",
        by="02",
        contact={"person": "ترانه فرهمند", "mobile": "+98 935 765 4321"},
        services=["2"],
    )
    b = workflow.convert(cfg, b.lead, service="2", by="02")
    out["B"] = {"lead": b.lead, "case": b.case or ""}

    c = workflow.register(
        cfg,
        company="Zarrin Tooska Steel",
        staff="07",
        by="07",
        contact={"person": "Kaveh Moradi", "phone": "021-88776655", "email": "kaveh@zarrintooska.com"},
    )
    out["C"] = {"lead": c.lead}

    d = workflow.register(
        cfg,
        company="مهندسی پیشگامان دانش‌بنیان آرتاویل",
        staff="01",
        by="01",
        contact={"consultant": "هومن سپهری", "mobile": "۰۹۳۶ ۱۱۱ ۲۲۳۳"},
    )
    out["D"] = {"lead": d.lead}

    e = workflow.register(cfg, company="کارخانه یزدبافت", staff="02", by="02", contact={"person": "شهرام طلوعی"})
    # a hand edit typed on an Arabic keyboard, as the procedure allows
    log = e.folder / LOG_NAME
    log.write_text(log.read_text(encoding="utf-8").replace("کارخانه یزدبافت", "كارخانه يزدبافت"), encoding="utf-8")
    out["E"] = {"lead": e.lead}

    f = workflow.register(cfg, company="تولیدی آبگینه خزر", staff="07", by="07")
    workflow.log_event(cfg, f.lead, kind="note", note="ارسال نمونه کاشی لعاب‌دار برای فرادید", by="07")
    workflow.log_event(cfg, f.lead, kind="quote", note="قیمت نهایی ۴۵۰ میلیون ریال", by="07")
    out["F"] = {"lead": f.lead}

    g = workflow.register(cfg, company="بازرگانی ستاره‌ی کویر", staff="01", by="01")
    (g.folder / "گزارش ممیزی نهایی.pdf").write_bytes(b"%PDF-1.4 report")
    (g.folder / "scans").mkdir()
    (g.folder / "scans" / "مجوز بهداشت.jpg").write_bytes(b"jpeg")
    out["G"] = {"lead": g.lead}
    return out


def _queries(rec: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    a, b = rec["A"], rec["B"]
    return [
        # company: partial, Persian/Arabic letters, ZWNJ vs space vs nothing, diacritics, tatweel
        ("شرکت فرادید", "A", "company"),
        ("فرادید", "A", "company"),
        ("فرا دید", "A", "company"),
        ("شركت فراديد", "A", "company"),
        ("فراــدید", "A", "company"),
        ("فرادیدُ", "A", "company"),
        ("FARADID", "A", "ids"),
        ("کیمیاگران", "B", "company"),
        ("کیمیا‌گران", "B", "company"),
        ("کیمیا گران سپیدرود", "B", "company"),
        ("كيمياگران", "B", "company"),
        ("zarrin tooska", "C", "company"),
        ("ZARRIN", "C", "company"),
        ("آرتاویل", "D", "company"),
        ("دانشبنیان آرتاویل", "D", "company"),
        ("یزدبافت", "E", "company"),
        ("يزد بافت", "E", "company"),
        ("کارخانه یزدبافت", "E", "company"),
        ("آبگینه خزر", "F", "company"),
        ("ستاره کویر", "G", "company"),
        # one wrong, missing or extra letter
        ("فرادیدد", "A", "company~"),
        ("فردید", "A", "company~"),
        ("فرادبد", "A", "company~"),
        ("سپیدرد", "B", "company~"),
        ("Zarin Tooska", "C", "company~"),
        ("ارتاویل", "D", "company~"),
        ("یزدبافط", "E", "company~"),
        # codes in any digits, numbers, tax IDs
        (a["lead"], "A", "lead"),
        (a["lead"].translate(FA), "A", "lead"),
        (a["case"], "A", "case"),
        (a["case"].translate(FA), "A", "case"),
        (b["case"].translate(FA), "B", "case"),
        (a["contract"], "A", "contract"),
        (a["contract"].translate(FA), "A", "contract"),
        (a["invoice"], "A", "invoice"),
        (a["tax"], "A", "tax_id"),
        (a["tax"].lower(), "A", "tax_id"),
        (f"{a['tax'][:6]} {a['tax'][6:11]} {a['tax'][11:]}", "A", "tax_id"),
        # phones in any written form
        ("09121234567", "A", "phone"),
        ("+98 912 123 4567", "A", "phone"),
        ("00989121234567", "A", "phone"),
        ("۰۹۱۲۱۲۳۴۵۶۷", "A", "phone"),
        ("0912-123-4567", "A", "phone"),
        ("09357654321", "B", "phone"),
        ("09361112233", "D", "phone"),
        ("02188776655", "C", "phone"),
        ("۰۲۱-۸۸۷۷۶۶۵۵", "C", "phone"),
        # email, contact and consultant names, notes, file names
        ("info@faradid.ir", "A", "ids"),
        ("kaveh@zarrintooska.com", "C", "ids"),
        ("بردیا آذرخش", "A", "name"),
        ("ترانه فرهمند", "B", "name"),
        ("هومن سپهری", "D", "name"),
        ("شهرام طلوعی", "E", "name"),
        ("لعابدار", "F", "note"),
        ("لعاب‌دار", "F", "note"),
        ("۴۵۰ میلیون", "F", "note"),
        ("گزارش ممیزی", "G", "file"),
        ("مجوز بهداشت", "G", "file"),
    ]


def test_table_of_queries_each_finds_its_record_first(archive) -> None:
    cfg, rec, idx = archive
    queries = _queries(rec)
    assert len(queries) >= 40
    failures = []
    for query, key, matched in queries:
        hits = idx.search(query, limit=10)
        want = rec[key]["lead"]
        if not hits or hits[0]["lead"] != want or hits[0]["matched"] != matched:
            got = [(h["lead"], h["company"], h["matched"]) for h in hits[:3]]
            failures.append(f"{query!r}: want {key} {want} via {matched}, got {got}")
    assert not failures, "\n".join(failures)


def test_exact_code_ranks_before_company_and_text(archive) -> None:
    cfg, rec, idx = archive
    hits = idx.search(rec["A"]["case"])
    assert hits[0]["lead"] == rec["A"]["lead"] and hits[0]["score"] == 100


def test_company_match_ranks_before_a_note_mentioning_it(archive) -> None:
    cfg, rec, idx = archive
    hits = idx.search("فرادید")
    leads = [h["lead"] for h in hits]
    assert leads[0] == rec["A"]["lead"]
    assert rec["F"]["lead"] in leads  # the note "… برای فرادید" is found too, after the company
    assert leads.index(rec["F"]["lead"]) > 0


def test_hit_has_the_agreed_fields_and_absolute_path(archive) -> None:
    cfg, rec, idx = archive
    h = idx.search("فرادید")[0]
    assert set(h) == {"lead", "case", "company", "staff", "status", "next_followup", "path", "stale", "score", "matched"}
    assert h["case"] == rec["A"]["case"] and h["status"] == "contracted" and h["stale"] is False
    assert Path(h["path"]) == cfg.root / "customers" / rec["A"]["case"]


def test_filters_status_staff_archived(archive) -> None:
    cfg, rec, idx = archive

    def in_archive(h: dict) -> bool:
        return Path(h["path"]).relative_to(cfg.root).parts[0] == "archive"

    assert all(h["status"] == "new" for h in idx.search("شرکت", status="new"))
    assert idx.search("فرادید", status="contracted")[0]["lead"] == rec["A"]["lead"]
    assert rec["A"]["lead"] not in [h["lead"] for h in idx.search("فرادید", status="new")]
    assert idx.search("فرادید", staff="۰۱")[0]["lead"] == rec["A"]["lead"]
    assert all(h["staff"] == "02" for h in idx.search("شرکت", staff="02"))
    archived = idx.search("شرکت", archived=True, limit=200)
    assert archived and all(in_archive(h) for h in archived)
    assert all(h["status"] in ("archived", "crm-done") or in_archive(h) for h in archived)
    assert not any(in_archive(h) for h in idx.search("شرکت", archived=False, limit=200))


def test_get_by_either_code(archive) -> None:
    cfg, rec, idx = archive
    by_case = idx.get(rec["A"]["case"].translate(FA))
    by_lead = idx.get(rec["A"]["lead"])
    assert by_case == by_lead
    assert by_case is not None and by_case["contract"] == rec["A"]["contract"]
    assert by_case["invoices"][0]["tax_id"] == rec["A"]["tax"]
    assert idx.get("99998") is None


def test_nonsense_and_empty_queries_find_nothing(archive) -> None:
    cfg, rec, idx = archive
    assert idx.search("") == []
    assert idx.search("   ") == []
    assert idx.search('"*^ OR (') == []
    assert idx.search("قزلقلعه‌ناپیدا") == []


def test_cli_search_json_matches_python(archive, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from archivist.cli import main

    cfg, rec, idx = archive
    assert cfg.path is not None
    code = main(["--config", str(cfg.path), "search", "کیمیاگران", "--json", "--limit", "5"])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == idx.search("کیمیاگران", limit=5)


def test_words_found_only_in_different_fields_still_find_the_record(archive) -> None:
    cfg, rec, idx = archive
    hits = idx.search("آبگینه لعاب‌دار", limit=10)  # one word in the company, one in a note
    assert hits and hits[0]["lead"] == rec["F"]["lead"] and hits[0]["matched"] == "text"
