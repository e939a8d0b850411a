"""``atlas-crawl classify``: JSON lines in, JSON lines out, as outside tools call it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import ROOT
from tests.unit.test_clauses import LINKEDIN


def test_classify_command_reads_and_writes_json_lines() -> None:
    lines = [json.dumps({"text": LINKEDIN, "lang": "en"}), json.dumps({"text": "Hello."}), ""]
    done = subprocess.run(
        [sys.executable, "-m", "atlas_crawl.cli", "classify"],
        input="\n".join(lines), capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == 2 and out[1] == {"clause_types": []}
    first = out[0]["clause_types"][0]
    assert first["type"] == "ai-training" and first["severity"] == "high"
    assert set(first) == {"type", "severity", "confidence", "evidence"}
    bad = subprocess.run(
        [sys.executable, "-m", "atlas_crawl.cli", "classify"],
        input='{"text": "ok"}\n{"txt": 1}\n', capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert bad.returncode == 2 and "stdin line 2" in bad.stderr
