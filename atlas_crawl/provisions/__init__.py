"""Provisions: the clauses a reader cites, cut out of each version text, with identities
that follow them from version to version."""

from atlas_crawl.provisions.match import Match, match_provisions
from atlas_crawl.provisions.segment import Provision, segment

__all__ = ["Match", "Provision", "match_provisions", "segment"]
