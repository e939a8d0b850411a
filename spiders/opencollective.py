from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import Document


class OpenCollectiveSpider(PolicySpider):
    name = "opencollective"
    platform = "Open Collective"
    documents = [
        Document("Terms of Service", "https://opencollective.com/tos", select=".markdown"),
        Document("Privacy Policy", "https://opencollective.com/privacypolicy", select=".markdown"),
    ]
