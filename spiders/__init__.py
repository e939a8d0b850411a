"""One module per platform: ``scrapy crawl <name>``. ``declarations`` reads OTA files."""
