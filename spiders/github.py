from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import Document

_SITE_POLICY = "https://docs.github.com/en/site-policy"


class GitHubSpider(PolicySpider):
    name = "github"
    platform = "GitHub"
    documents = [
        Document(
            "Privacy Policy",
            f"{_SITE_POLICY}/privacy-policies/github-general-privacy-statement",
            select="#article-contents",
        ),
        Document(
            "Terms of Service",
            f"{_SITE_POLICY}/github-terms/github-terms-of-service",
            select="#article-contents",
        ),
        Document(
            "Copyright Claims Policy",
            f"{_SITE_POLICY}/content-removal-policies/dmca-takedown-policy",
            select="#article-contents",
        ),
    ]
