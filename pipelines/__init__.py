"""Item pipelines, in order (``ITEM_PIPELINES``): extract, WARC evidence, store, archive.
Installed as ``atlas_crawl.pipelines``."""
