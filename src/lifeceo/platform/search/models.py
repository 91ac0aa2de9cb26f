"""The vocabulary's tables (migration 0004): counts folded by the periodic job, and the changes
each write of a post, event or profile appends (by trigger) until the next fold. Read through
the view search_terms, which adds the two."""

from sqlalchemy import Column, Index, Integer, Table, Text, text

from lifeceo.platform.db.base import Base

search_term_counts = Table(
    "search_term_counts", Base.metadata,
    Column("term", Text, nullable=False),
    Column("documents", Integer, nullable=False),
    Index("ix_search_term_counts_term", "term", unique=True,
          postgresql_ops={"term": "text_pattern_ops"}),
    Index("ix_search_term_counts_trgm", "term", postgresql_using="gin",
          postgresql_ops={"term": "gin_trgm_ops"}),
    Index("ix_search_term_counts_unused", "term", postgresql_where=text("documents <= 0")),
)

search_term_changes = Table(
    "search_term_changes", Base.metadata,
    Column("term", Text, nullable=False),
    Column("delta", Integer, nullable=False),
    Index("ix_search_term_changes_term", "term", postgresql_ops={"term": "text_pattern_ops"}),
    Index("ix_search_term_changes_trgm", "term", postgresql_using="gin",
          postgresql_ops={"term": "gin_trgm_ops"}),
)
