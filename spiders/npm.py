from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import Document


class NpmSpider(PolicySpider):
    name = "npm"
    platform = "npm Public Registry"
    documents = [
        Document(
            "Privacy Policy",
            "https://docs.npmjs.com/policies/privacy",
            select={"startBefore": "h1", "endBefore": "#toc-heading"},
            remove="details",
        ),
        Document(
            "Terms of Service",
            "https://docs.npmjs.com/policies/open-source-terms",
            select='[as="main"]',
            remove=["nav", "details"],
        ),
        Document(
            "Copyright Claims Policy",
            "https://docs.npmjs.com/policies/dmca",
            select='[as="main"]',
            remove=["nav", "details"],
        ),
    ]
