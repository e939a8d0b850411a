from atlas_crawl.declarations import Document
from atlas_crawl.spider import PolicySpider


class BrevoSpider(PolicySpider):
    name = "brevo"
    platform = "Brevo"
    documents = [
        Document("Privacy Policy", "https://www.brevo.com/legal/privacypolicy/", select="main"),
    ]
