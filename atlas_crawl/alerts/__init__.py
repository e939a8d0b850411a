"""Watches and alerts: what is watched, the summary of a change, delivery."""
