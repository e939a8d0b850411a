from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import Document

_LEGAL = "https://buffer.com/legal"


class BufferSpider(PolicySpider):
    name = "buffer"
    platform = "Buffer"
    documents = [
        Document("Terms of Service", _LEGAL, select="#terms"),
        Document(
            "Privacy Policy",
            _LEGAL,
            select=[
                "[aria-labelledby=privacy-policy]",
                "[aria-labelledby=crpn]",
                "[aria-labelledby=gdpr]",
                "[aria-labelledby=dpf]",
                "[aria-labelledby=data-retention]",
            ],
        ),
        Document("Copyright Claims Policy", _LEGAL, select="[aria-labelledby=dmca]"),
        Document("Developer Terms", _LEGAL, select="[aria-labelledby=api]"),
    ]
