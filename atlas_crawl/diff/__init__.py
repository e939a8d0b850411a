"""Diffs between two texts: the stored patch, and its rendering for a person."""
