"""Open Terms Archive declaration files and folders: ``<service>.json`` with its
``<service>.history.json``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from atlas_crawl.declarations.model import DeclarationError, TrackedDocument
from atlas_crawl.declarations.parse import check_document_type, parse_ota_rules


def load_ota_file(path: Path) -> list[TrackedDocument]:
    """The documents of one ``<service>.json`` declaration, with its history file if any."""
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DeclarationError(f"{where}: cannot read declaration: {exc}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise DeclarationError(f"{where}: needs a string 'name'")
    terms = data.get("terms")
    if not isinstance(terms, Mapping):
        # Empty is valid: a retired service keeps only its history file.
        raise DeclarationError(f"{where}: needs a 'terms' object")
    history: Mapping[str, Any] = {}
    history_path = path.with_name(path.name[: -len(".json")] + ".history.json")
    if history_path.exists():
        try:
            history = json.loads(history_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DeclarationError(f"{history_path}: cannot read history: {exc}") from None
    documents = []
    for doc_type, decl in terms.items():
        check_document_type(doc_type, f"{where}: terms")
        rules = parse_ota_rules(decl, f"{where}: terms[{doc_type!r}]")
        old = []
        for i, entry in enumerate(history.get(doc_type, [])):
            here = f"{history_path}: [{doc_type!r}][{i}]"
            entry_rules = parse_ota_rules(entry, here)
            if entry_rules.valid_until is None:
                raise DeclarationError(f"{here}: history entries need 'validUntil'")
            old.append(entry_rules)
        documents.append(TrackedDocument(data["name"], doc_type, rules, tuple(old), where))
    return documents


def service_names(text: str | None) -> list[str] | None:
    """The services of an ``A,B`` argument (None: every service)."""
    return [s for s in text.split(",") if s.strip()] if text else None


def _service_name(file: Path) -> str | None:
    """The ``name`` a declaration file gives its service (None if unreadable: loading it
    says why)."""
    try:
        name = json.loads(file.read_text(encoding="utf-8")).get("name")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def load_ota_folder(path: Path, services: Iterable[str] | None = None) -> list[TrackedDocument]:
    """Every document declared in a folder of Open Terms Archive declarations; with
    ``services``, those whose file or ``name`` is one of them (any case)."""
    if not path.is_dir():
        raise DeclarationError(f"{path}: not a folder of declarations")
    files = [
        f
        for f in sorted(path.glob("*.json"))
        if not f.name.endswith((".history.json", ".filters.json"))
    ]
    if not files:
        raise DeclarationError(f"{path}: no declarations here (<service>.json files)")
    chosen = files
    if services is not None:
        names = {f: {f.name[: -len(".json")], _service_name(f) or ""} for f in files}
        wanted = {s.strip().lower() for s in services if s.strip()}
        chosen = [f for f in files if wanted & {n.lower() for n in names[f]}]
        found = {n.lower() for f in chosen for n in names[f]}
        missing = sorted({s.strip() for s in services if s.strip().lower() not in found})
        if missing:
            known = sorted({n for f in files for n in names[f] if n})
            raise DeclarationError(
                f"{path}: no declaration for services {missing} (known: {', '.join(known)})"
            )
    documents = []
    for file in chosen:
        documents.extend(load_ota_file(file))
    return documents
