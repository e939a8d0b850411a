from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import Document

_REMOVE = [".callout > svg", ".expandable-section__header", ".banner__image-container"]


class LinkedInSpider(PolicySpider):
    name = "linkedin"
    platform = "LinkedIn"
    documents = [
        Document(
            "Privacy Policy",
            "https://www.linkedin.com/legal/privacy-policy",
            select="#component-container",
            remove=_REMOVE,
        ),
        Document(
            "Terms of Service",
            "https://www.linkedin.com/legal/user-agreement",
            select="main",
            remove=[".banner__image-container"],
        ),
        Document(
            "Trackers Policy",
            "https://www.linkedin.com/legal/cookie-policy",
            select="#component-container",
            remove=_REMOVE,
        ),
    ]
