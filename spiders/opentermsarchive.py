from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import Document

_SITE = "https://opentermsarchive.org/en"


class OpenTermsArchiveSpider(PolicySpider):
    name = "opentermsarchive"
    platform = "Open Terms Archive"
    documents = [
        Document("Privacy Policy", f"{_SITE}/privacy-policy", select=".textcontent"),
        Document("Imprint", f"{_SITE}/legal-notice", select=".textcontent"),
        Document("Accessibility Statement", f"{_SITE}/accessibility/", select=".textcontent"),
        Document("Brand Guidelines", f"{_SITE}/brand-guidelines/", select=".container--98"),
    ]
