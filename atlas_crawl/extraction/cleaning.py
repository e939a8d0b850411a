"""Remove what a reader of the page does not see as policy text, undo obfuscation.

Applied inside the selected parts, after the declaration's own ``remove``: elements
hidden from every reader, and cookie-consent banners and dialogs of the common consent
platforms, which many sites render inside their main content. E-mail addresses that a
CDN (Cloudflare) hides behind a per-request random XOR key are decoded back to the
address, or every capture would read as a change.
"""

from __future__ import annotations

import re

from atlas_crawl.extraction.dom import Node
from atlas_crawl.extraction.selection import detach

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
# What every name _CONSENT accepts contains: lexbor finds the few candidates in C, the
# expression above then decides.
_CONSENT_WORDS = ("onetrust", "ot-sdk", "optanon", "cookie", "consent", "gdpr", "cc-window",
                  "cc-banner", "qc-cmp", "osano-cm", "didomi-", "usercentrics", "cmp")  # fmt: skip
_SUSPECTS = ", ".join(
    [
        "[hidden]",
        '[style*="none" i]',
        '[style*="hidden" i]',
        *(f'[{attr}*="{word}" i]' for word in _CONSENT_WORDS for attr in ("id", "class")),
    ]
)


def _is_hidden(el: Node) -> bool:
    attrs = el.attributes
    if "hidden" in attrs and (attrs["hidden"] or "").lower() != "until-found":
        return True
    style = attrs.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


def _is_consent(el: Node) -> bool:
    attrs = el.attributes
    names = f"{attrs.get('id') or ''} {attrs.get('class') or ''}"
    return bool(names.strip()) and bool(_CONSENT.search(names))


_CF_PATH = "/cdn-cgi/l/email-protection"
_CF_SUSPECTS = f'[href*="{_CF_PATH}"], [data-cfemail]'


def decode_cf_email(encoded: str) -> str | None:
    """Cloudflare's obfuscated address: the first byte is the XOR key of the others."""
    try:
        data = bytes.fromhex(encoded)
        key = data[0]
        return bytes(b ^ key for b in data[1:]).decode("utf-8")
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


def _deobfuscate_emails(part: Node) -> None:
    for el in part.css(_CF_SUSPECTS):
        attrs = el.attrs
        href = attrs.get("href")
        if href and _CF_PATH in href:
            # The address is in the link's fragment, on the link itself, or inside it.
            encoded = href.split("#", 1)[1] if "#" in href else attrs.get("data-cfemail")
            if encoded is None:
                inner = el.css_first("[data-cfemail]")
                encoded = inner.attributes.get("data-cfemail") if inner is not None else None
            address = decode_cf_email(encoded) if encoded else None
            if address is None:
                del attrs["href"]
            else:
                attrs["href"] = f"mailto:{address}"
        encoded = attrs.get("data-cfemail")
        if encoded is not None:
            address = decode_cf_email(encoded)
            if address is not None:
                for child in list(el.iter(include_text=True)):
                    detach(child)
                el.insert_child(address)
                del attrs["data-cfemail"]


def clean(part: Node) -> None:
    """Drop hidden elements and consent banners below ``part``, decode e-mails (in place)."""
    doomed = [
        el
        for el in part.css(_SUSPECTS)
        if el.mem_id != part.mem_id and (_is_hidden(el) or _is_consent(el))
    ]
    for el in doomed:
        detach(el)
    _deobfuscate_emails(part)
