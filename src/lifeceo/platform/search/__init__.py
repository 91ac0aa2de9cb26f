"""Full-text search behind a narrow interface; PostgreSQL is the engine."""

from lifeceo.platform.search.interface import (
    Document,
    Hit,
    SearchIndex,
    SearchRequest,
    SearchResults,
)
from lifeceo.platform.search.postgres import PostgresSearchIndex, normalise, postgres_search_index

search_index: SearchIndex = postgres_search_index

__all__ = ["Document", "Hit", "PostgresSearchIndex", "SearchIndex", "SearchRequest",
           "SearchResults", "normalise", "postgres_search_index", "search_index"]
