"""Declarations: platform spiders and Open Terms Archive files, checked at load time."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import DeclarationError, Document, Range, load_ota_folder
from tests.helpers import ROOT, SHARED_CORPUS, run_scrapy, write_spider

PLATFORMS = [
    "linkedin",
    "23andme",
    "adobe",
    "slack",
    "github",
    "npm",
    "buffer",
    "brevo",
    "opencollective",
    "uptimerobot",
    "opentermsarchive",
]


def test_every_platform_spider_is_listed() -> None:
    result = run_scrapy(["list"], dict(os.environ))
    assert result.returncode == 0, result.output
    listed = set(result.output.split())
    assert set(PLATFORMS) | {"declarations"} <= listed


@pytest.mark.parametrize("name", PLATFORMS)
def test_platform_spiders_declare_real_https_documents(name: str) -> None:
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    cls = SpiderLoader.from_settings(get_project_settings()).load(name)
    assert issubclass(cls, PolicySpider)
    docs = cls._tracked
    assert {"Privacy Policy"} & {d.document_type for d in docs} or name == "buffer"
    for doc in docs:
        for source in doc.rules.sources:
            assert source.url.startswith("https://")
            assert source.select, f"{name}: {doc.document_type} selects the whole page"


def _define(**attrs: object) -> type:
    return type("BadSpider", (PolicySpider,), {"name": "bad", "platform": "Bad", **attrs})


def test_bad_selector_fails_at_class_definition_naming_field() -> None:
    with pytest.raises(DeclarationError) as err:
        _define(documents=[Document("Privacy Policy", "https://x.test/", select="main[")])
    message = str(err.value)
    assert "test_declarations.py" in message
    assert "BadSpider.documents[0].select" in message


def test_unknown_document_type_fails() -> None:
    with pytest.raises(DeclarationError, match=r"documents\[0\]\.document_type"):
        _define(documents=[Document("Privacy Polcy", "https://x.test/", select="main")])


def test_missing_url_and_bad_url_fail() -> None:
    with pytest.raises(DeclarationError, match="needs 'fetch'"):
        _define(documents=[Document("Privacy Policy", select="main")])
    with pytest.raises(DeclarationError, match=r"\.fetch: expected an http\(s\) URL"):
        _define(documents=[Document("Privacy Policy", "ftp://x.test/", select="main")])


def test_combine_inherits_rules() -> None:
    cls = _define(
        documents=[
            Document(
                "Terms of Service",
                select="main",
                remove=".ad",
                render=True,
                combine=[
                    {"fetch": "https://x.test/a"},
                    {"fetch": "https://x.test/b", "select": "#b"},
                ],
            )
        ]
    )
    a, b = cls._tracked[0].rules.sources
    assert a.select == ("main",) and a.remove == (".ad",) and a.render
    assert b.select == ("#b",) and b.remove == (".ad",)


def test_ota_declarations_load_with_ranges_and_history(tmp_path: Path) -> None:
    docs = load_ota_folder(ROOT / "tests" / "fixtures" / "declarations")
    npm = next(
        d
        for d in docs
        if d.platform == "npm Public Registry" and d.document_type == "Privacy Policy"
    )
    assert isinstance(npm.rules.sources[0].select[0], Range)
    assert npm.history and npm.history[0].valid_until is not None


def test_ota_declaration_errors_name_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "Bad.json").write_text(
        json.dumps(
            {
                "name": "Bad",
                "terms": {
                    "Privacy Policy": {"fetch": "https://x.test/", "select": {"startBefore": "h1"}}
                },
            }
        )
    )
    with pytest.raises(DeclarationError) as err:
        load_ota_folder(tmp_path)
    assert "Bad.json" in str(err.value) and "['Privacy Policy'].select" in str(err.value)


def test_services_filter_names_missing_services(tmp_path: Path) -> None:
    with pytest.raises(DeclarationError, match="Nope"):
        load_ota_folder(ROOT / "tests" / "fixtures" / "declarations", ["Nope"])


@pytest.mark.skipif(not SHARED_CORPUS.exists(), reason="../shared/corpus is absent")
def test_every_reference_declaration_loads() -> None:
    for folder in [
        SHARED_CORPUS / "demo" / "declarations",
        SHARED_CORPUS / "reference" / "declarations",
    ]:
        assert load_ota_folder(folder)


def test_a_new_platform_is_one_file(tmp_path: Path) -> None:
    """Adding a spider module is all it takes; a bad one fails naming its file and field."""
    path = write_spider(
        tmp_path,
        "myspiders",
        "example",
        """
        class ExampleSpider(PolicySpider):
            name = "example"
            platform = "Example"
            documents = [Document("Privacy Policy", "https://example.com/privacy", select="main")]
    """,
    )
    env = {**os.environ, "PYTHONPATH": path}
    settings = ["-s", "SPIDER_MODULES=myspiders,spiders"]
    result = run_scrapy(["list", *settings], env)
    assert result.returncode == 0 and "example" in result.output.split(), result.output

    write_spider(
        tmp_path,
        "myspiders",
        "broken",
        """
        class BrokenSpider(PolicySpider):
            name = "broken"
            platform = "Broken"
            documents = [Document("Privacy Policy", "https://example.com/", select="##")]
    """,
    )
    result = run_scrapy(["list", *settings], env)
    assert result.returncode != 0
    assert "broken.py" in result.output and "BrokenSpider.documents[0].select" in result.output


def test_a_mirror_declares_the_location_it_stands_for() -> None:
    from atlas_crawl.declarations import parse_ota_rules, rules_to_json

    decl = {"fetch": "http://127.0.0.1:8000/p.html", "location": "https://example.com/privacy"}
    rules = parse_ota_rules(decl, "Example.json")
    assert rules.sources[0].declared_location == "https://example.com/privacy"
    assert parse_ota_rules(rules_to_json(rules), "stored") == rules
    assert parse_ota_rules({"fetch": "https://a.test/p"}, "x").sources[0].declared_location == (
        "https://a.test/p"
    )
    with pytest.raises(DeclarationError, match="location"):
        parse_ota_rules({"fetch": "https://a.test/p", "location": "not a url"}, "x")
