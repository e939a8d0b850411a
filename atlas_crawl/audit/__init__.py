"""The recorded evidence read back: verification of every hash and chain, citations of
versions and changes, and evidence bundles to hand over."""
