"""Remove what a reader of the page does not see as policy text, undo obfuscation.

Applied inside the selected parts, after the declaration's own ``remove``: elements
hidden from every reader, and cookie-consent banners and dialogs of the common consent
platforms, which many sites render inside their main content. E-mail addresses that a
CDN (Cloudflare) hides behind a per-request random XOR key are decoded back to the
address, or every capture would read as a change.
"""

from __future__ import annotations

import re

from lxml import etree

from atlas_crawl.extraction.selection import remove_keep_tail

_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# Ids and classes of consent platforms and banners. Matched against whole tokens so
# that a policy section id="cookies" is never taken for a banner.
_CONSENT = re.compile(
    r"(?:^|[\s_-])(?:onetrust|ot-sdk|optanon|cookiebot|cybotcookiebot|cookie-?(?:law|consent|"
    r"banner|notice|bar|popup|modal|disclaimer|wall)|consent-?(?:banner|manager|modal|popup|"
    r"wall)|gdpr-?(?:banner|consent)|cc-(?:window|banner)|qc-cmp\w*|truste-consent\w*|"
    r"osano-cm\w*|didomi-(?:host|popup|notice)\w*|usercentrics\w*|cmp-?(?:banner|container))"
    r"(?:$|[\s_-])",
    re.I,
)


def _is_hidden(el: etree._Element) -> bool:
    attrib = el.attrib
    if "hidden" in attrib and attrib.get("hidden", "").lower() != "until-found":
        return True
    style = attrib.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


def _is_consent(el: etree._Element) -> bool:
    names = f"{el.get('id', '')} {el.get('class', '')}"
    return bool(names.strip()) and bool(_CONSENT.search(names))


_CF_PATH = "/cdn-cgi/l/email-protection"


def decode_cf_email(encoded: str) -> str | None:
    """Cloudflare's obfuscated address: the first byte is the XOR key of the others."""
    try:
        data = bytes.fromhex(encoded)
        key = data[0]
        return bytes(b ^ key for b in data[1:]).decode("utf-8")
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


def _deobfuscate_emails(part: etree._Element) -> None:
    for el in part.iter():
        if not isinstance(el.tag, str):
            continue
        href = el.get("href")
        if href and _CF_PATH in href:
            # The address is in the link's fragment, on the link itself, or inside it.
            encoded = href.split("#", 1)[1] if "#" in href else el.get("data-cfemail")
            if encoded is None:
                inner = el.find(".//*[@data-cfemail]")
                encoded = inner.get("data-cfemail") if inner is not None else None
            address = decode_cf_email(encoded) if encoded else None
            if address is None:
                del el.attrib["href"]
            else:
                el.set("href", f"mailto:{address}")
        encoded = el.get("data-cfemail")
        if encoded is not None:
            address = decode_cf_email(encoded)
            if address is not None:
                for child in list(el):
                    el.remove(child)
                el.text = address
                del el.attrib["data-cfemail"]


def clean(part: etree._Element) -> None:
    """Drop hidden elements and consent banners below ``part``, decode e-mails (in place)."""
    doomed = [
        el
        for el in part.iterdescendants()
        if isinstance(el.tag, str) and (_is_hidden(el) or _is_consent(el))
    ]
    for el in doomed:
        remove_keep_tail(el)
    _deobfuscate_emails(part)
