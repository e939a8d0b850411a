from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import Document


class SlackSpider(PolicySpider):
    name = "slack"
    platform = "Slack"
    documents = [
        Document(
            "Privacy Policy",
            select="main#main",
            # The sidebar of links to the other trust and legal pages is inside main.
            remove=[".legal-sidebar"],
            combine=[
                {"fetch": "https://slack.com/trust/privacy/privacy-policy"},
                {"fetch": "https://slack.com/trust/data-management/privacy-principles"},
            ],
        ),
        Document(
            "Terms of Service",
            select="main#main",
            remove=[".legal-sidebar"],
            combine=[
                {"fetch": "https://slack.com/main-services-agreement"},
                {"fetch": "https://slack.com/slack-supplemental-terms"},
            ],
        ),
    ]
