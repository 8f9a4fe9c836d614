"""No user-visible English sentence escapes the catalog.

An AST scan over archivist/ finds every string literal and f-string that reaches a person and is
not wrapped in `_()`, `ngettext()`, `pgettext()` (or `N_()`, translated where it is shown). What
"reaches a person" means here (the sinks):

- the message of a raised exception (`raise X(...)`, any class except programming errors such as
  TypeError/KeyError/RuntimeError), and the construction of an `ArchivistError` subclass anywhere
  (helpers that build the error a caller raises: `src.err(key, why)`, `bad(...)`, `unavailable(...)`);
- what the CLI prints: `ctx.out/ctx.err`, `print`, `sys.stdout/stderr.write`, `parser.error`,
  `argparse` `help=`/`description=`/`epilog=`;
- what the TUI shows: `notify(...)`, `Static/Label/Button/...(...)` texts, `.update(...)`,
  `placeholder=`, `title=`/`sub_title=`, `Binding` descriptions and `BINDINGS` tuples;
- messages sent to staff (Telegram: `queue_for_staff(..., text)`), report and status lines built
  with `lines.append(...)`/`out.append(...)`.

Deliberately not translated (the explicit marker is a trailing comment `# untranslated: <why>` on
a line of the offending expression; the reason is required):
- `daemon.log` and other log lines written with `logging` (`log.info(...)`): they are for the
  administrator and for support, who grep them; they stay English and are not scanned;
- keys, file names, paths, flags and identifiers (a literal with no space, e.g. `ui.language`,
  `config.yaml`, `--company`) are not sentences and are not flagged;
- machine-readable output (`--json`) is not a string literal in a sink and is not flagged.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "archivist"

TRANSLATORS = {"_", "gettext_", "ngettext", "pgettext", "N_", "npgettext"}
# exceptions that are programming errors (a bug report, never a user's message)
INTERNAL = {
    "TypeError",
    "KeyError",
    "RuntimeError",
    "AssertionError",
    "NotImplementedError",
    "StopIteration",
    "AttributeError",
    "IndexError",
    "_Unsupported",
    "_RetryAfter",
    "_Transient",
    "_Refused",
}
PRINTERS = {"out", "err", "print", "write", "error", "notify", "echo"}
WIDGETS = {"Static", "Label", "Button", "Header", "Footer", "Markdown", "Checkbox", "RadioButton", "Option", "Binding", "Tab"}
TEXT_KEYWORDS = {"help", "description", "epilog", "placeholder", "title", "sub_title", "tooltip", "message", "text", "label"}
SENDERS = {"queue_for_staff", "send_message", "update"}
LINE_LISTS = re.compile(r"^(lines|out|parts|report|rows_text|text|said|msgs|messages|problems|notes|body)$")
WORDS = re.compile(r"[A-Za-z]{2,}")
MARKER = re.compile(r"#\s*untranslated:\s*(\S.*)?$")


def _user_errors(trees: dict[Path, ast.Module]) -> set[str]:
    """ArchivistError and every class deriving from it, by name, across the package."""
    bases: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
    found = {"ArchivistError"}
    grew = True
    while grew:
        grew = False
        for name, parents in bases.items():
            if name not in found and parents & found:
                found.add(name)
                grew = True
    return found


def _callee(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return ""


def _is_sentence(text: str) -> bool:
    text = re.sub(r"\{[^{}]*\}|%\(\w+\)[sdr]|%[sdr]", "\0", text).strip()
    if not WORDS.search(text):
        return False
    return " " in text  # a key, a file name, a flag or an identifier is not a sentence


def _literals(node: ast.AST) -> Iterator[ast.AST]:
    """The untranslated literal pieces of an expression that becomes the shown text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if _is_sentence(node.value):
            yield node
    elif isinstance(node, ast.JoinedStr):
        text = "".join(v.value if isinstance(v, ast.Constant) else " {x} " for v in node.values)
        if _is_sentence(text):
            yield node
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                yield from _literals(v.value)
    elif isinstance(node, ast.Call):
        name = _callee(node)
        if name in TRANSLATORS:
            return
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in ("format", "join", "strip", "rstrip", "lstrip"):
            yield from _literals(f.value)
            for a in node.args:
                yield from _literals(a)
            for k in node.keywords:
                yield from _literals(k.value)
    elif isinstance(node, ast.BinOp):
        yield from _literals(node.left)
        yield from _literals(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            yield from _literals(v)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for e in node.elts:
            yield from _literals(e)


def _sink_args(node: ast.Call, errors: set[str]) -> Iterator[ast.AST]:
    name = _callee(node)
    f = node.func
    if name in errors or (name == "ValueError"):
        yield from node.args
        return
    if name in ("err", "bad", "unavailable") and len(node.args) >= 2:  # helpers returning a user error
        yield from node.args[1:]
        return
    if name in PRINTERS or name in WIDGETS or name in SENDERS:
        if name == "write" and not (isinstance(f, ast.Attribute) and "std" in ast.unparse(f.value)):
            return
        if name == "update" and isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in ("os",):
            return
        yield from node.args
    if name in ("append", "extend", "insert") and isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        if LINE_LISTS.match(f.value.id):
            yield from node.args
    for k in node.keywords:
        if k.arg in TEXT_KEYWORDS:
            yield k.value


SQL = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|PRAGMA|BEGIN|WITH|ALTER|VACUUM|ANALYZE|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b"
    r"|\b(FROM|WHERE|ORDER BY|GROUP BY|IS NOT NULL|IS NULL|AND|OR|IN|LIKE|JOIN|LIMIT|VALUES|MATCH)\b|\w = \?|\bcoalesce\(|\bsubstr\(|\binstr\(|\br\.\w+"
)
TYPE_TEXT = re.compile(r"^[\w\[\]., |]+$")
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
REGEX_CALLS = {"compile", "match", "search", "sub", "fullmatch", "findall", "finditer", "split"}


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _exempt(node: ast.AST, parents: dict[ast.AST, ast.AST], text: str) -> bool:
    """Not a message: a docstring, a log line for the administrator, SQL, a regular expression,
    a type annotation, or text already inside _()/ngettext/pgettext/N_."""
    if SQL.search(text) or "(?P<" in text or "(?:" in text or (TYPE_TEXT.match(text) and ("|" in text or "[" in text)):
        return True
    if re.match(r"^\s*<[\w?!/]", text) and text.rstrip().endswith(">"):
        return True  # XML/HTML markup (the XLSX writer's parts, a bare page); its words are data
    parent = parents.get(node)
    if isinstance(parent, ast.Expr):
        return True  # a docstring (or a bare string statement)
    q: ast.AST | None = parent
    child: ast.AST = node
    while q is not None:
        if isinstance(q, ast.Call):
            name = _callee(q)
            if name in TRANSLATORS:
                return True
            f = q.func
            if name in LOG_METHODS and isinstance(f, ast.Attribute) and "log" in ast.unparse(f.value).lower():
                return True  # daemon.log & co.: English for the administrator and for support (grep)
            if name in REGEX_CALLS and isinstance(f, ast.Attribute) and ast.unparse(f.value) == "re":
                return True
        if isinstance(q, (ast.arg, ast.AnnAssign)) and child is getattr(q, "annotation", None):
            return True
        if isinstance(q, (ast.FunctionDef, ast.AsyncFunctionDef)) and child is q.returns:
            return True
        child = q
        q = parents.get(q)
    return False


def _marker_end(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> int:
    """The last line a `# untranslated:` marker for `node` may sit on: the end of the simple
    statement holding it, since a formatter that spreads a dict or a call over several lines leaves
    the trailing comment after the closing bracket (for `if`/`with`…, the header's lines)."""
    end = getattr(node, "end_lineno", None) or getattr(node, "lineno", 0)
    q = parents.get(node)
    while q is not None and not isinstance(q, ast.stmt):
        q = parents.get(q)
    if q is None:
        return end
    body = getattr(q, "body", None)
    if isinstance(body, list) and body:  # a compound statement: its header, up to the line before its body
        return max(end, body[0].lineno - 1)
    return max(end, q.end_lineno or end)


def offences() -> list[str]:
    """Every English sentence in a string literal or f-string of archivist/ that is neither
    translated (_(), ngettext, pgettext, N_) nor exempt nor marked `# untranslated: <why>`."""
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text, str(path))
        parents = _parents(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                shown = node.value
            elif isinstance(node, ast.JoinedStr):
                shown = "".join(v.value if isinstance(v, ast.Constant) else "{x}" for v in node.values)
            else:
                continue
            if isinstance(parents.get(node), ast.JoinedStr) or not _is_sentence(shown) or _exempt(node, parents, shown):
                continue
            start, end = node.lineno, _marker_end(node, parents)
            reasons = [MARKER.search(lines[i - 1]) for i in range(start, end + 1)]
            marked = [m for m in reasons if m]
            if marked:
                assert marked[0].group(1), f"{path}:{start}: '# untranslated:' needs a reason"
                continue
            found.append(f"{path.relative_to(ROOT)}:{start}: {ast.unparse(node)[:100]}")
    return found


def test_every_user_visible_string_is_marked_for_translation() -> None:
    found = offences()
    assert not found, f"{len(found)} user-visible strings not marked with _()/ngettext/pgettext:\n" + "\n".join(found)


if __name__ == "__main__":
    for line in offences():
        print(line)
