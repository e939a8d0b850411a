"""The guards that refuse a page, on real short pages where they must not fire and on
the pages they exist for: walls, truncation, script placeholders."""

from __future__ import annotations

import pytest

from atlas_crawl.declarations import parse_ota_rules
from atlas_crawl.extraction.errors import ExtractionError
from atlas_crawl.extraction.extract import extract_document
from atlas_crawl.storage.change_rules import truncation
from tests.helpers import fixture_bytes

# Short real pages (text under the 2,000 characters where walls are looked for), with
# their declarations of the time (tests/fixtures/NOTICE.md).
SHORT_PAGES = {
    "ota-imprint": {"fetch": "https://opentermsarchive.org/en/legal-notice",
                    "select": ".textcontent"},
    "npm-copyright-claims": {"fetch": "https://docs.npmjs.com/policies/dmca",
                             "select": "#skip-nav", "remove": "details"},
    "withings-imprint": {"fetch": "https://withings.com/fr/fr/legal/legal-notice",
                         "select": [".document"]},
    "monaphp-imprint": {"fetch": "https://mon.aphp.fr/mentions_legales",
                        "select": {"startAfter": "header", "endBefore": ".footer--container"}},
}  # fmt: skip

# What Cloudflare inserts before </body> of every page it serves with bot management on.
CLOUDFLARE_SCRIPT = (
    b"<script>(function(){function c(){var b=a.contentDocument||a.contentWindow.document;"
    b"if(b){var d=b.createElement('script');d.innerHTML=\"window.__CF$cv$params={r:'8f1',"
    b"t:'MTczMDAwMDAwMA=='};var a=document.createElement('script');a.nonce='';"
    b"a.src='/cdn-cgi/challenge-platform/scripts/jsd/main.js';"
    b"document.getElementsByTagName('head')[0].appendChild(a);\";"
    b"b.getElementsByTagName('head')[0].appendChild(d)}}})();</script>"
)
OTHER_SCRIPTS = (
    b'<script src="https://js.datadome.co/tags.js" async></script>'
    b'<script src="https://www.google.com/recaptcha/api.js?render=6Lc"></script>'
    b'<script src="/149e9513-01fa-4fb0-aad4-566afd725d1b/2d206a39-8ed7-437e-a3be-862e0f06eea3'
    b'/j.js"></script><script>window._pxAppId="PXabc";/* perimeterx */</script>'
)


def _read(name: str, body: bytes) -> str:
    rules = parse_ota_rules(SHORT_PAGES[name], name)
    return extract_document([(body, "text/html")], rules)


@pytest.mark.parametrize("name", sorted(SHORT_PAGES))
def test_a_short_real_page_with_bot_protection_scripts_is_read(name: str) -> None:
    page = fixture_bytes(f"guards/{name}.html.gz")
    text = _read(name, page)
    assert len(text) < 2000  # where walls are looked for
    protected = page.replace(b"</body>", CLOUDFLARE_SCRIPT + OTHER_SCRIPTS + b"</body>", 1)
    assert protected != page
    assert _read(name, protected) == text


CHALLENGES = [
    # Cloudflare's interstitial: its title, its challenge stage, the same script.
    b"<!DOCTYPE html><html lang='en-US'><head><title>Just a moment...</title>"
    + CLOUDFLARE_SCRIPT
    + b"</head><body><div class='main-wrapper' role='main'><div class='main-content'>"
    b"<h1 class='zone-name-title h1'>opentermsarchive.org</h1><div id='challenge-stage'>"
    b"</div><div id='challenge-success-text' class='h2'>Verification successful</div>"
    b"</div></div></body></html>",
    # DataDome: a frame of its captcha service and little else.
    b"<html><head><title>opentermsarchive.org</title></head><body style='margin:0'>"
    b"<p id='cmsg'>Please enable JS and disable any ad blocker</p><iframe "
    b"src='https://geo.captcha-delivery.com/captcha/?initialCid=AHrl&hash=C0' "
    b"title='DataDome CAPTCHA' width='100%' height='100%'></iframe></body></html>",
    # A reCAPTCHA form in place of the document.
    b"<html><head><title>Security check</title></head><body><main><form method='post'>"
    b"<div class='g-recaptcha' data-sitekey='6Lc'></div><button>Continue</button></form>"
    b"</main></body></html>",
]


@pytest.mark.parametrize("page", CHALLENGES)
@pytest.mark.parametrize("name", ["ota-imprint", "withings-imprint"])
def test_challenge_pages_in_place_of_a_document_still_refuse(name: str, page: bytes) -> None:
    with pytest.raises(ExtractionError) as refused:
        _read(name, page)
    assert refused.value.reason == "blocked"
    assert "page title" in refused.value.detail or "challenge widget" in refused.value.detail


def test_truncation_needs_a_page_with_no_end_smaller_than_one_that_had_one() -> None:
    whole = fixture_bytes("guards/npm-copyright-claims.html.gz")
    old = [(whole, "text/html")]
    cut = whole[: len(whole) // 3]
    assert "stops before the end of the document" in (truncation([(cut, "text/html")],
                                                                  lambda: old) or "")  # fmt: skip
    # Complete pages that end oddly are no evidence: a long script after </html>, a
    # comment, a page grown larger, a page whose previous capture had no end either.
    trailing = whole + b"\n<script>" + b"var x = 1;" * 2000 + b"</script>\n<!-- 12ms -->"
    assert truncation([(trailing, "text/html")], lambda: old) is None
    assert truncation([(whole.replace(b"</body>", b"").replace(b"</html>", b"") + b"<p>more"
                        * 20_000, "text/html")], lambda: old) is None  # fmt: skip
    assert truncation([(cut[:1000], "text/html")], lambda: [(cut, "text/html")]) is None


@pytest.mark.parametrize(
    "shown", ["Loading…", "Chargement...", "You need to enable JavaScript to run this app."]
)
def test_a_script_placeholder_is_no_text(shown: str) -> None:
    page = f"<html><body><div class='document'><p>{shown}</p></div></body></html>"
    with pytest.raises(ExtractionError) as refused:
        _read("withings-imprint", page.encode())
    assert refused.value.reason == "placeholder"
