"""Commands on the evidence: ``verify``, ``warc``, ``cite``, ``export``, ``archive``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from atlas_crawl.cli.common import UsageError, connect, database_of, settings_of
from atlas_crawl.cli.names import record_number
from atlas_crawl.not_found import NotFound
from atlas_crawl.storage.database import data_dir, evidence_dir

if TYPE_CHECKING:
    from atlas_crawl.audit.verify import VerifyReport
    from atlas_crawl.evidence.checkpoint import Checkpoint


def cmd_verify(args: argparse.Namespace) -> int:
    if args.checkpoint:
        return _verify_checkpoints(args)
    if args.since:
        return _verify_since(args)
    from atlas_crawl.audit.verify_run import verify_all

    settings = settings_of(args)
    folder = Path(args.evidence_dir) if args.evidence_dir else evidence_dir(settings)
    progress = data_dir(settings) / "verify-progress.json"
    started = time.perf_counter()

    def on_window(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\rledger entries: {done}/{total}", end="", file=sys.stderr, flush=True)

    with connect(args) as conn:
        try:
            report, resumed = verify_all(conn, folder, progress, args.resume, on_window)
        except KeyboardInterrupt:
            print(f"\natlas-crawl: verify interrupted; `atlas-crawl verify --resume` goes on "
                  f"from the last window saved in {progress}", file=sys.stderr)  # fmt: skip
            return 130
    seconds = time.perf_counter() - started
    if resumed is not None:
        print(f"(resumed from {progress}, at ledger entry {resumed})")
    return _print_report(report, seconds, done_before=resumed or 0)


def _print_report(
    report: VerifyReport, seconds: float, scope: str = "", done_before: int = 0
) -> int:
    for mismatch in report.mismatches:
        print(f"MISMATCH {mismatch}")
    checked = ", ".join(f"{n} {k}" for k, n in report.counts.items())
    # The rate of this run: entries a resumed run took over are not counted.
    rate = (report.counts.get("ledger entries", 0) - done_before) / seconds if seconds else 0
    verdict = f"{len(report.mismatches)} mismatches" if report.mismatches else "all hashes match"
    print(f"verified {checked}{scope} in {seconds:.2f}s ({rate:,.0f} ledger entries/s): {verdict}")
    return 1 if report.mismatches else 0


def _trusted_key(args: argparse.Namespace) -> str | None:
    trusted = args.public_key
    if trusted and Path(trusted).is_file():
        trusted = Path(trusted).read_text().strip()
    return trusted


def _read_checkpoint(name: str) -> Checkpoint:
    from atlas_crawl.evidence.checkpoint import Checkpoint, CheckpointError

    try:
        return Checkpoint.from_json(Path(name).read_text(), name)
    except (OSError, CheckpointError) as exc:
        raise UsageError(str(exc)) from None


def _verify_since(args: argparse.Namespace) -> int:
    """Only what was appended after a checkpoint, and the proof that today's ledger
    extends the tree it signed."""
    from atlas_crawl.audit.verify_run import verify_since

    cp = _read_checkpoint(args.since)
    folder = Path(args.evidence_dir) if args.evidence_dir else evidence_dir(settings_of(args))
    started = time.perf_counter()
    with connect(args) as conn:
        found = verify_since(conn, cp, _trusted_key(args), folder)
    seconds = time.perf_counter() - started
    for problem in found.problems:
        print(f"MISMATCH {args.since}: {problem}")
    if not found.problems:
        print(f"{args.since}: today's ledger of {found.tree_size} entries (root "
              f"{found.root_hash}) extends the {cp.tree_size} it covered")  # fmt: skip
    if found.report is None:
        return 1
    code = _print_report(found.report, seconds, f" appended since entry {cp.tree_size}")
    return 1 if found.problems else code


def _verify_checkpoints(args: argparse.Namespace) -> int:
    """Each checkpoint file against the database: signature, then a consistency proof
    from its tree to today's with every leaf rebuilt from its record."""
    from atlas_crawl.audit.ledger_proofs import verify_checkpoint

    trusted = _trusted_key(args)
    failed = 0
    with connect(args) as conn:
        for name in args.checkpoint:
            cp = _read_checkpoint(name)
            report = verify_checkpoint(conn, cp, trusted)
            for problem in report.problems:
                print(f"MISMATCH {name}: {problem}")
            if report.problems:
                failed += 1
            else:
                print(
                    f"{name}: the ledger still holds the {cp.tree_size} entries it covered "
                    f"(consistent with today's {report.tree_size})"
                )
    if not trusted:
        print("(signatures checked against the keys the checkpoints name; --public-key "
              "checks them against the operator's published key)")  # fmt: skip
    return 1 if failed else 0


def cmd_warc(args: argparse.Namespace) -> int:
    from atlas_crawl.audit.bundle import checks_of, write_checks_warc

    names = "-".join(r.strip().upper() for r in args.records)
    out = Path(args.out or f"atlas-checks-{names}.warc.gz")
    # Written beside the target and moved into place whole: a failure leaves nothing.
    partial = out.with_name(out.name + ".partial")
    try:
        with connect(args) as conn:
            checks: list[int] = []
            for record in args.records:
                checks += [c for c in checks_of(conn, record) if c not in checks]
            with partial.open("wb") as fh:
                pages = write_checks_warc(conn, checks, fh)
        partial.replace(out)
    except NotFound as exc:
        raise UsageError(str(exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    print(f"wrote {pages} captured page(s) to {out}")
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    from atlas_crawl.audit.citation import citation, citation_text
    from atlas_crawl.audit.ledger_proofs import inclusion
    from atlas_crawl.record_ids import parse_record_id

    try:
        with connect(args) as conn:
            found = citation(conn, args.record)
            if args.json:
                # The proof that the cited record is in the signed ledger.
                kind, number = parse_record_id(args.record)
                if kind == "provision":  # it rests on the version it was cut from
                    kind, number = "version", found["version_id"]
                found["ledger"] = inclusion(conn, kind, number)
    except (NotFound, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(found, indent=2) if args.json else citation_text(found))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from atlas_crawl.audit.bundle import export_change

    number = record_number(args.change, "change")
    out = Path(args.out or f"atlas-change-{number}.zip")
    try:
        with connect(args) as conn:
            manifest = export_change(conn, number, out)
    except NotFound as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {out}: {len(manifest['files'])} files, manifest.json and MANIFEST.txt")
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    from atlas_crawl.evidence.wayback import ArchiveError, WaybackClient, WaybackSettings
    from atlas_crawl.storage.archive_status import store_outcome, versions_to_archive

    try:
        wayback = WaybackSettings.from_settings(settings_of(args))
    except ArchiveError as exc:
        raise UsageError(str(exc)) from None
    if wayback is None:
        raise UsageError("archiving is off: set ATLAS_WAYBACK_ENABLED=1 and the keys")
    client = WaybackClient(wayback)
    with database_of(args).connect(autocommit=True) as conn:
        for version_id, url in versions_to_archive(conn):
            try:
                archived = client.save(url)
            except ArchiveError as exc:
                store_outcome(conn, version_id, None, str(exc))
                print(f"version {version_id}: failed: {exc}")
                continue
            store_outcome(conn, version_id, archived, None)
            print(f"version {version_id}: {archived}")
    return 0
