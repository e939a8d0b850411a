from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import Document


class UptimeRobotSpider(PolicySpider):
    name = "uptimerobot"
    platform = "UptimeRobot"
    documents = [
        Document("Privacy Policy", "https://uptimerobot.com/privacy/", select="main"),
        Document("Terms of Service", "https://uptimerobot.com/terms/", select="main"),
    ]
