from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import Document


class AdobeSpider(PolicySpider):
    name = "adobe"
    platform = "Adobe"
    documents = [
        Document(
            "Privacy Policy",
            "https://www.adobe.com/privacy/policy.html",
            select="main",
            remove=["nav", ".globalnavheader", ".feds-localnav"],
        ),
        Document(
            "Terms of Service",
            "https://www.adobe.com/legal/terms.html",
            select="main",
            remove=["nav", ".globalnavheader", ".feds-localnav"],
        ),
    ]
