"""Extraction: page bytes + declaration -> normalized text, on recorded real pages."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from atlas_crawl.declarations import Range, Source, load_ota_folder
from atlas_crawl.extraction import ExtractionError, extract_source
from atlas_crawl.extraction.cleaning import decode_cf_email
from tests.helpers import FIXTURES, fixture_bytes, make_pdf


def _declared(platform: str, doc_type: str):
    docs = load_ota_folder(FIXTURES / "declarations")
    return next(d for d in docs if d.platform == platform and d.document_type == doc_type)


def _text(fixture: str, platform: str, doc_type: str, at: str = "2030-01-01T00:00:00Z") -> str:
    doc = _declared(platform, doc_type)
    rules = doc.rules_in_force(datetime.fromisoformat(at.replace("Z", "+00:00")))
    return extract_source(fixture_bytes(fixture), rules.sources[0])


def test_real_page_keeps_structure_and_drops_page_chrome() -> None:
    text = _text("github/privacy-00577.html.gz", "GitHub", "Privacy Policy")
    assert text.startswith("## [GitHub Privacy Statement]")
    assert "\n### " in text  # section headings survive
    assert "\n- " in text  # lists survive
    assert "<script" not in text and "function(" not in text
    assert unicodedata.is_normalized("NFC", text)
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_real_change_between_captures_is_seen() -> None:
    before = _text("github/privacy-00576.html.gz", "GitHub", "Privacy Policy")
    after = _text("github/privacy-00577.html.gz", "GitHub", "Privacy Policy")
    assert before != after


def test_cloudflare_obfuscated_emails_do_not_make_changes() -> None:
    # Two captures of the same policy whose addresses are XOR-encoded with other keys.
    a = fixture_bytes("brevo/privacy-00125.html.gz")
    b = fixture_bytes("brevo/privacy-00189.html.gz")
    assert b"email-protection#" in a and b"email-protection#" in b
    text_a = _text("brevo/privacy-00125.html.gz", "Brevo", "Privacy Policy")
    text_b = _text("brevo/privacy-00189.html.gz", "Brevo", "Privacy Policy")
    assert text_a == text_b
    assert "[dpo@brevo.com](mailto:dpo@brevo.com)" in text_a
    assert "email-protection" not in text_a


def test_entity_encoded_mailto_links_do_not_make_changes() -> None:
    a = _text("opencollective/tos-00000.html.gz", "Open Collective", "Terms of Service")
    b = _text("opencollective/tos-00104.html.gz", "Open Collective", "Terms of Service")
    assert a == b
    assert "(mailto:info@opencollective.com)" in a


def test_range_selector_and_remove() -> None:
    text = _text("npm/privacy-00059.html.gz", "npm Public Registry", "Privacy Policy")
    assert text.startswith("# ")
    assert "Table of contents" not in text  # the range ends before #toc-heading


def test_history_rules_apply_to_old_captures() -> None:
    doc = _declared("npm Public Registry", "Privacy Policy")
    old = doc.rules_in_force(datetime(2023, 9, 1, tzinfo=UTC))
    new = doc.rules_in_force(datetime(2024, 1, 1, tzinfo=UTC))
    assert old.sources[0].select == ("#skip-nav",)
    assert isinstance(new.sources[0].select[0], Range)
    text = extract_source(fixture_bytes("npm/privacy-00035.html.gz"), old.sources[0])
    assert "npm" in text


def test_undeclared_charset_is_read_as_utf8() -> None:
    text = extract_source(
        fixture_bytes("seed/linkedin-privacy-2020.html.gz"),
        Source("https://www.linkedin.com/legal/privacy-policy"),
    )
    assert "LinkedIn’s mission" in text
    assert "â€" not in text


@pytest.mark.parametrize(
    "fixture", ["seed/23andme-privacy-2021.html.gz", "seed/adobe-privacy-2021.html.gz"]
)
def test_seed_platform_pages_extract(fixture: str) -> None:
    text = extract_source(fixture_bytes(fixture), Source("https://example.com/privacy"))
    assert len(text) > 2000
    assert "privacy" in text.lower()


PAGE = """<html><head><title>T</title><style>p{color:red}</style>
<script>var nonce="{n}"</script></head><body>
<div id="onetrust-banner-sdk" class="otFlat">We use cookies <a href="/c">Accept</a></div>
<main>
  <h1>Terms   of Service</h1>
  <p>Read our <a href="/privacy?utm_source=footer&amp;id=7&amp;gclid=abc#s2">privacy
     policy</a>.<br>Second   line.</p>
  <div hidden>Hidden draft text</div>
  <p style="display: none">Invisible</p>
  <section id="cookies"><h2>Cookies</h2><p>We set cookies.</p></section>
  <ol><li>One<ul><li>One a</li></ul></li><li>Two</li></ol>
  <table><tr><th>Data</th><th>Use</th></tr><tr><td>Email</td><td>Login</td></tr></table>
  <noscript>Enable JavaScript</noscript><img src="/logo.{n}.png" alt="logo">
  <p>Cafe\u0301\u200b &nbsp; au lait</p>
</main><footer>Built {n}</footer></body></html>"""


def test_noise_is_not_text_and_structure_is_markdown() -> None:
    source = Source("https://example.com/terms", select=("main",))
    text = extract_source(PAGE.replace("{n}", "1").encode(), source)
    assert extract_source(PAGE.replace("{n}", "2").encode(), source) == text
    assert text == (
        "# Terms of Service\n\n"
        "Read our [privacy policy](https://example.com/privacy?id=7#s2).\nSecond line.\n\n"
        "## Cookies\n\nWe set cookies.\n\n"
        "1. One\n   - One a\n2. Two\n\n"
        "| Data | Use |\n| --- | --- |\n| Email | Login |\n\n"
        "Café au lait\n"
    )


def test_remove_range_and_multiple_selectors() -> None:
    html = b"""<body><div id=a><p>keep 1</p><h2 id=s>Start</h2><p>gone</p>
    <h2 id=e>End</h2><p>keep 2</p></div><div id=b><p>second part</p></div></body>"""
    source = Source(
        "https://x.test/", select=("#a", "#b"), remove=(Range("#s", True, "#e", False),)
    )
    assert extract_source(html, source) == "keep 1\n\n## End\n\nkeep 2\n\nsecond part\n"


def test_select_matching_nothing_is_an_error() -> None:
    with pytest.raises(ExtractionError) as err:
        extract_source(b"<body><p>x</p></body>", Source("https://x.test/", select=(".gone",)))
    assert err.value.reason == "selector matched nothing"
    assert ".gone" in str(err.value)


def test_empty_selection_is_an_error() -> None:
    with pytest.raises(ExtractionError) as err:
        extract_source(
            b"<body><main><script>x()</script></main></body>",
            Source("https://x.test/", select=("main",)),
        )
    assert err.value.reason == "empty extraction"


@pytest.mark.parametrize(
    "page",
    [
        b"<html><body><div class='g-recaptcha'></div><p>Please verify</p></body></html>",
        b"<html><title>Just a moment...</title><body><main>Checking your browser before "
        b"accessing the site.</main></body></html>",
    ],
)
def test_bot_walls_are_failures(page: bytes) -> None:
    with pytest.raises(ExtractionError) as err:
        extract_source(page, Source("https://x.test/", select=("main",)))
    assert err.value.reason == "blocked"


def test_a_wall_is_named_by_its_evidence() -> None:
    page = (
        b"<html><body><main><script src='/Challenge-Platform/x.js'></script>"
        b"<iframe src='https://geo.Captcha-Delivery.com/captcha/?x=1'></iframe>"
        b"<p>One moment.</p></main></body></html>"
    )
    with pytest.raises(ExtractionError) as err:
        extract_source(page, Source("https://x.test/", select=("main",)))
    assert err.value.detail == "bot or captcha wall (challenge widget 'captcha-delivery.com')"
    titled = b"<html><head><title>Just a moment...</title></head><body><main>.</main></body>"
    with pytest.raises(ExtractionError) as err:
        extract_source(titled, Source("https://x.test/", select=("main",)))
    assert err.value.detail == "bot or captcha wall (page title 'just a moment...')"


@pytest.mark.parametrize(
    "script",
    [
        b"<script src='/cdn-cgi/challenge-platform/scripts/jsd/main.js'></script>",
        b"<script>window.__CF$cv$params={r:'x'};var a='challenge-platform';</script>",
        b"<script src='https://js.datadome.co/tags.js'></script><script>dd={}</script>",
        b"<script src='https://www.google.com/recaptcha/api.js?render=k'></script>",
    ],
)
def test_a_short_policy_loading_a_bot_protection_script_is_no_wall(script: bytes) -> None:
    """Bot-protection services put their scripts into ordinary pages: a short real
    notice that loads one is read, not refused."""
    page = (
        b"<html><head><title>Legal notice</title>" + script + b"</head><body><main>"
        b"<h1>Legal notice</h1><p>This site is published by Example SAS, 1 rue de la Paix, "
        b"Paris. We value your privacy: see our privacy policy.</p></main></body></html>"
    )
    text = extract_source(page, Source("https://x.test/", select=("main",)))
    assert text.startswith("# Legal notice")


def test_pdf_documents_are_read() -> None:
    pdf = make_pdf("Terms of Service apply.")
    text = extract_source(pdf, Source("https://x.test/terms.pdf"), "application/pdf")
    assert text == "Terms of Service apply.\n"


def test_cloudflare_decoder() -> None:
    # key 0x42 applied to "a@b.c"
    encoded = "42" + bytes(c ^ 0x42 for c in b"a@b.c").hex()
    assert decode_cf_email(encoded) == "a@b.c"
    assert decode_cf_email("zz") is None


def test_fixtures_carry_their_notice() -> None:
    assert "ODC-BY" in (Path(FIXTURES) / "NOTICE.md").read_text()


def test_nul_characters_never_reach_a_text() -> None:
    """A PDF's unmapped glyphs come out of its text layer as NUL, which PostgreSQL text
    cannot hold: the check was lost with a database error."""
    from atlas_crawl.extraction.normalize import normalize_text

    assert normalize_text("Menu\x00Options \x00 cocher\n") == "MenuOptions  cocher\n"
