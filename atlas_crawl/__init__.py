"""atlas-crawl: watch platform policy documents and keep an evidential change history."""

__version__ = "0.1.0"
