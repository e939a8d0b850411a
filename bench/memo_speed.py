"""Time to make the PDF memo of provisions and changes (``atlas-crawl memo``), page
HTML and layout included, without the command's start-up.

    python bench/memo_speed.py --database-url URL [--count 20]

Takes the ``--count`` newest changes and as many provisions of today's documents, makes
each memo once, and prints the median and the slowest in seconds, with the PDFs' pages.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time

import psycopg
from pypdf import PdfReader

from atlas_crawl.web.pages import memo_pdf


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    with psycopg.connect(args.database_url) as conn:
        conn.read_only = True
        picks = {
            "change": [r[0] for r in conn.execute(
                "SELECT change_id FROM changes ORDER BY change_id DESC LIMIT %s",
                (args.count,))],
            "provision": [r[0] for r in conn.execute(
                "SELECT provision_id FROM provision_classifications "
                "ORDER BY severity_rank(severity) DESC, provision_id LIMIT %s", (args.count,))],
        }  # fmt: skip
        memo_pdf(conn, "change", picks["change"][0])  # fonts and templates loaded once
        for kind, numbers in picks.items():
            took, pages = [], []
            for number in numbers:
                started = time.perf_counter()
                body, _ = memo_pdf(conn, kind, number)
                took.append(time.perf_counter() - started)
                pages.append(len(PdfReader(io.BytesIO(body)).pages))
            print(f"{kind:10} {len(numbers)} memos: median {statistics.median(took):.2f} s, "
                  f"slowest {max(took):.2f} s; pages {min(pages)}-{max(pages)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
