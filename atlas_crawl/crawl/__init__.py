"""Fetching: the spiders' base classes, the crawl plan they share with the pipelines,
the settings add-on, rendering and distributed rounds."""
