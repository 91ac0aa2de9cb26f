"""Deterministic demo and load-test data: users, follows, posts, likes, comments, events, RSVPs."""

from lifeceo.seed.writer import DEMO_PASSWORD, SeedError, SeedSummary, seed_database

__all__ = ["DEMO_PASSWORD", "SeedError", "SeedSummary", "seed_database"]
