"""What searching needs from an engine: index, remove, search, suggest, correct.

Narrow on purpose: documents are described by SQL expressions of their own table (the domain
owns the rules of who may see what and passes them as filters), and an engine answers with ids,
scores and snippets. PostgreSQL full-text search is the one engine here.
"""

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import UnaryExpression


# Compared by identity (eq=False): the engine keeps what it builds from a document per document.
@dataclass(frozen=True, eq=False)
class Document:
    """How one kind of row is searched.

    `vector` is its weighted tsvector (A ×3, B ×2, C ×1); `language` the column naming the
    configuration it was analysed with (None: always language-neutral); `snippet` the text
    highlights are cut from; `fuzzy` folded names matched by trigram similarity as well;
    `exact` a folded name that, equal to the folded query, puts the row first; `boost` a
    multiplier of the text score (recency, popularity); `touch` the column a no-op UPDATE sets
    to have PostgreSQL recompute a stored document; `indexes` the expression indexes to rebuild
    instead (or as well) after a configuration change; `max_candidates` how many matches are
    ranked at most (see SearchRequest.tiebreak).
    """

    kind: str
    table: Any
    id: ColumnElement[int]
    vector: ColumnElement[Any]
    snippet: ColumnElement[str]
    touch: ColumnElement[Any] | None = None
    indexes: Sequence[str] = ()
    language: ColumnElement[str] | None = None
    fuzzy: Sequence[ColumnElement[str]] = ()
    exact: ColumnElement[str] | None = None
    boost: ColumnElement[float] | None = None
    # Matches ranked at most, taken in the request's tiebreak order: ranking cost grows with them.
    max_candidates: int = 1000


@dataclass(frozen=True)
class SearchRequest:
    text: str
    limit: int
    offset: int = 0
    filters: Sequence[ColumnElement[bool]] = field(default_factory=tuple)
    # The values of the filters' named bind parameters, given when the statement runs.
    parameters: Mapping[str, Any] = field(default_factory=dict)
    # Requests of one document with equal shapes have the same filters and tiebreak and differ
    # only in text, page and parameters: an engine may build their statement once. None: each
    # request is built anew.
    shape: Hashable | None = None
    # Order among equal scores, and the order in which matches become ranking candidates:
    # columns of the document's table with .asc() or .desc().
    tiebreak: Sequence[UnaryExpression[Any]] = field(default_factory=tuple)


@dataclass(frozen=True)
class Hit:
    id: int
    score: float
    # HTML: the document's text escaped, the matched words in <mark>.
    snippet: str


@dataclass(frozen=True)
class SearchResults:
    hits: list[Hit]
    # Matches counted up to a cap; `total_exact` is False when the cap was reached.
    total_estimate: int
    total_exact: bool


class SearchIndex(Protocol):
    async def index(self, session: AsyncSession, document: Document, *, after_id: int,
                    batch_size: int) -> list[int]:
        """Recompute the documents of the next batch of rows after `after_id` (a rebuild after
        a configuration change); the ids done, in order, none at the end."""

    async def remove(self, session: AsyncSession, document: Document, ids: Sequence[int]) -> None:
        """Forget the rows' documents."""

    async def search(self, session: AsyncSession, document: Document,
                     request: SearchRequest) -> SearchResults: ...

    async def suggest(self, session: AsyncSession, prefix: str, *, limit: int) -> list[str]:
        """Words of the public vocabulary completing or resembling `prefix`."""

    async def correct(self, session: AsyncSession, text: str) -> str | None:
        """The text with unknown words replaced by the closest known ones; None if no change."""
