"""The scratch folder a bench run starts from: emptied, with its config.yaml written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def fresh_config(folder: str | Path, config_text: str) -> Path:
    """Empty (or make) `folder`, write `config_text` as its config.yaml and return that file's path."""
    base = Path(folder)
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    config = base / "config.yaml"
    config.write_text(config_text, encoding="utf-8")
    return config


def generate(config: Path, records: int) -> Path:
    """A generated archive of `records` records under the config's folder (seed 1); its root."""
    root = config.parent / "archive"
    cmd = [sys.executable, "-m", "bench.generate", "--records", str(records), "--root", str(root)]
    subprocess.run([*cmd, "--seed", "1", "--config", str(config)], check=True, capture_output=True)
    return root
