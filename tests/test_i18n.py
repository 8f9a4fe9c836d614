"""One message catalog: every marked string has its Persian, the compiled catalogs match the
sources, and `ui.language` chooses the language."""

from __future__ import annotations

import gettext
import io
import re
import string
from pathlib import Path

import pytest

from archivist import i18n
from archivist.config import load_config
from archivist.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "archivist" / "locale"
KEYWORDS = {"_": None, "gettext_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None}


def extracted() -> set[tuple[str | None, str]]:
    """Every string the source code marks for translation, as `pybabel extract -F babel.cfg` sees it."""
    from babel.messages.extract import extract_from_dir

    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map=[("archivist/**.py", "python"), ("archivist/**/templates/**.html", "jinja2")], keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.add((context, msgid))
    return found


def catalog(lang: str):  # type: ignore[no-untyped-def]
    from babel.messages.pofile import read_po

    with open(LOCALE / lang / "LC_MESSAGES" / "archivist.po", "rb") as fh:
        return read_po(fh, locale=lang)


def test_every_marked_string_has_a_persian_translation() -> None:
    fa = catalog("fa")
    translated = {
        (m.context, m.id if isinstance(m.id, str) else m.id[0])
        for m in fa
        if m.id and m.string and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else True)
    }
    missing = sorted(str(k) for k in extracted() - translated)
    assert not missing, "strings without Persian in archivist/locale/fa (run the README 'Translations' steps):\n" + "\n".join(
        missing
    )


def test_strings_inside_f_strings_are_in_the_catalog_too() -> None:
    """`pybabel extract` does not look inside f-strings: a `_('word')` there must be marked elsewhere."""
    marked = {m for _ctx, m in extracted()}
    found = set()
    for path in (ROOT / "archivist").rglob("*.py"):
        found |= set(re.findall(r"""\b_\((?:'([^'\\]+)'|"([^"\\]+)")\)""", path.read_text(encoding="utf-8")))
    missing = sorted(a or b for a, b in found if (a or b) not in marked)
    assert not missing, "mark these with N_() somewhere (e.g. tui/words.py): " + ", ".join(missing)


def test_translations_keep_the_placeholders() -> None:
    def fields(text: str) -> set[str]:
        return {f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None}

    for m in catalog("fa"):
        if m.id and isinstance(m.id, str) and m.string:
            assert fields(m.id) == fields(m.string), f"{m.id!r} → {m.string!r}"


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_compiled_catalog_matches_its_source(lang: str) -> None:
    from babel.messages.mofile import write_mo

    buf = io.BytesIO()
    write_mo(buf, catalog(lang))
    buf.seek(0)
    fresh = gettext.GNUTranslations(buf)
    with open(LOCALE / lang / "LC_MESSAGES" / "archivist.mo", "rb") as fh:
        shipped = gettext.GNUTranslations(fh)
    assert shipped._catalog == fresh._catalog, (
        f"archivist/locale/{lang} .mo is stale: run `pybabel compile -d archivist/locale -D archivist`"
    )  # type: ignore[attr-defined]


def test_language_comes_from_ui_language(tmp_path: Path, persian: None) -> None:
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text("ui: {language: en}\n", encoding="utf-8")
    load_config(cfg_path)
    assert i18n.stage_label("following") == "following"
    cfg_path.write_text("root: ./a\n", encoding="utf-8")
    assert load_config(cfg_path).ui.language == "fa"
    assert i18n.stage_label("following") == "در پیگیری"
    assert i18n.kind_label("call") == "تماس"
    with i18n.language("en"):
        assert i18n.kind_label("call") == "call"


def test_unknown_language_names_the_key(tmp_path: Path) -> None:
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text("ui: {language: de}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"ui\.language.*fa, en"):
        load_config(cfg_path)


def test_translations_object_for_the_web() -> None:
    fa = i18n.translations("fa")
    assert fa.pgettext("stage", "open") == "باز"
    assert i18n.translations("en").pgettext("stage", "open") == "open"


def test_persian_has_no_latin_words_except_acronyms() -> None:
    """A Persian translation that still reads English was forgotten, not translated."""
    allowed = {
        "CRM",
        "QC",
        "ID",
        "Telegram",
        "archivist",
        "XLSX",
        "CSV",
        "YAML",
        "F",
        "SS",
        "PATH",
        "rsync",
        "Enter",
        "Esc",
        "Tab",
        "ctrl",
        "xdg",
        "open",
        "xlsx",
        "csv",
        # acronyms, file systems, formats and places that have no Persian name
        "UTF",
        "FIFO",
        "NUL",
        "HTTP",
        "HTTPS",
        "API",
        "JSON",
        "ISO",
        "README",
        "NFS",
        "NTFS",
        "FAT",
        "exFAT",
        "ext",
        "btrfs",
        "xfs",
        "ntfs",
        "HH",
        "MM",
        "systemd",
        "Asia",
        "Tehran",
    }  # key names, a program, file types
    for m in catalog("fa"):
        if not (m.id and isinstance(m.id, str) and m.string):
            continue
        # placeholders, `code`, flags, KEY=…, keys:, file names, config.keys, $VARIABLES and /paths are typed as they are
        text = re.sub(
            r"%\(\w+\)[srd]|\{[^}]*\}|`[^`]*`|--[\w-]+|\b[A-Z_]+=\S+|\b[a-z_.]+:|\S+\.(?:yaml|sqlite|csv|xlsx)\b"
            r"|\b\w+(?:\.\w+)+\b|\$\w+|(?:/\w+)+",
            "",
            m.string,
        )
        words = set(re.findall(r"[A-Za-z]{2,}", text)) - allowed
        assert not words, f"{m.id!r}: {sorted(words)} in {m.string!r}"
