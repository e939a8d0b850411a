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
    assert len(bad.stdout.splitlines()) == 1, "the good line before the bad one is answered"


def test_classify_answers_each_line_as_it_comes_and_refuses_an_unknown_language() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "atlas_crawl.cli", "classify"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps({"text": LINKEDIN, "lang": "EN"}) + "\n")
    process.stdin.flush()
    # The answer comes while the input is still open (no waiting for its end).
    answer = json.loads(process.stdout.readline())
    assert answer["clause_types"][0]["type"] == "ai-training"
    process.stdin.write(json.dumps({"text": "Bonjour.", "lang": "english"}) + "\n")
    process.stdin.close()
    assert process.wait(timeout=60) == 2
    error = process.stderr.read() if process.stderr else ""
    assert "stdin line 2: unknown lang 'english' (known: de, en, fr, it, pl" in error
