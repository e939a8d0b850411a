"""Clause types: what kind of clause a provision is, how severe, and why it matters."""
