from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import Document


class BrevoSpider(PolicySpider):
    name = "brevo"
    platform = "Brevo"
    documents = [
        Document("Privacy Policy", "https://www.brevo.com/legal/privacypolicy/", select="main"),
    ]
