"""The README's config examples for an office host load as written (users copy them verbatim)."""

from __future__ import annotations

import re
from pathlib import Path

from archivist.config import load_config

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_daemon_polling_example_in_the_readme_is_accepted(tmp_path: Path) -> None:
    examples = re.findall(r"`daemon\.polling: ([^`]+)`", README)
    assert examples
    for value in examples:
        path = tmp_path / "config.yaml"
        path.write_text(f"daemon:\n  polling: {value}\n", encoding="utf-8")
        assert load_config(path).daemon.polling == "on"


def test_the_accounts_example_loads(tmp_path: Path) -> None:
    section = README.split("### Who acted: accounts and admins", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block
    path = tmp_path / "config.yaml"
    path.write_text(block.group(1), encoding="utf-8")
    cfg = load_config(path)
    assert cfg.accounts == {"01": "maryam", "03": "sara", "05": "reza"} and cfg.admins == ("01",)
