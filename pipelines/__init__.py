"""Item pipelines, in order: extract (cut out and normalize), store (hash, compare, record)."""
