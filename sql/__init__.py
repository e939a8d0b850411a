"""The project's SQL (migrations, public views, named queries), shipped as package data
of ``atlas_crawl.sql`` and read through ``importlib.resources``."""
