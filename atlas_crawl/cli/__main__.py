"""``python -m atlas_crawl.cli``."""

import sys

from atlas_crawl.cli import main

sys.exit(main())
