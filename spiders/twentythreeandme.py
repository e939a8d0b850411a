# The module name cannot start with a digit; the spider keeps the platform's own name.
from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import Document


class TwentyThreeAndMeSpider(PolicySpider):
    name = "23andme"
    platform = "23andMe"
    documents = [
        Document(
            "Privacy Policy",
            "https://www.23andme.com/legal/privacy/full-version/",
            select="main",
            remove=["nav", "aside", "[class*=breadcrumb]"],
        ),
        Document(
            "Terms of Service",
            "https://www.23andme.com/legal/terms-of-service/full-version/",
            select="main",
            remove=["nav", "aside", "[class*=breadcrumb]"],
        ),
    ]
