"""The documentation site (mkdocs.yml: docs/ pages and the API reference from the docstrings)
builds with no warning, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_site_builds_strictly(tmp_path: Path):
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert not warnings, warnings
    stats = (site / "reference" / "stats" / "index.html").read_text(encoding="utf-8")
    assert "paired_difference" in stats and "benjamini_hochberg" in stats
    assert (site / "ODD" / "index.html").is_file()
    # offline: no page loads fonts or scripts from another server
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in text, page
