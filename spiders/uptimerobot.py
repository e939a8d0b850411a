from atlas_crawl.declarations import Document
from atlas_crawl.spider import PolicySpider


class UptimeRobotSpider(PolicySpider):
    name = "uptimerobot"
    platform = "UptimeRobot"
    documents = [
        Document("Privacy Policy", "https://uptimerobot.com/privacy/", select="main"),
        Document("Terms of Service", "https://uptimerobot.com/terms/", select="main"),
    ]
