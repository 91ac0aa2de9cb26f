"""What is searched of posts, people and events, and how their scores are blended.

Score = text score × boost (+ 1 when the query is exactly the username or event title), where
the text score is ts_rank_cd with weights A ×3, B ×2, C ×1 normalised to [0, 1) (or half the
trigram word similarity of a name, whichever is higher):
- posts: boost = 0.5 + 0.5 × 2^(−age_days / 30): a month-old post keeps 75 %, an old one half;
- people: boost = 1 + 0.1 × ln(1 + followers): 1,000 followers weigh 1.69, none 1;
- events: no boost; among equal scores the soonest first.
Only the first 300 matches are ranked, taken newest / most followed / soonest first, exact
names before all: a word most posts contain is ranked among the newest posts.
"""

from sqlalchemy import func, literal_column

from lifeceo.community.events.models import Event
from lifeceo.community.posts.models import Post
from lifeceo.community.users.models import User
from lifeceo.platform.search import Document

RECENCY_HALF_LIFE_DAYS = 30
_SECONDS_PER_DAY = 86400

POSTS = Document(
    kind="posts", table=Post, id=Post.id, vector=Post.search_vector,
    language=Post.search_language, snippet=Post.body, touch=Post.body,
    # Ranking reads each candidate's row at random: for a first name 2,400 posts contain, 1,000
    # candidates took 24 ms of heap reads, sorting and scoring, 300 take a third of that.
    max_candidates=300,
    # Aged from the hour, not the transaction's instant: two posts whose boosts differ by less
    # than a double's precision would otherwise swap places between the pages of one search.
    boost=0.5 + 0.5 * func.power(2.0, -func.extract(
        "epoch", func.date_trunc("hour", func.now()) - Post.created_at)
        / (RECENCY_HALF_LIFE_DAYS * _SECONDS_PER_DAY)),
)

USERS = Document(
    kind="users", table=User, id=User.id, vector=User.search_vector,
    snippet=func.concat_ws(literal_column("' · '"), User.display_name, User.bio, User.city),
    fuzzy=(User.username, func.lifeceo_search_fold(User.display_name)),
    exact=User.username,
    boost=1 + 0.1 * func.ln(1 + User.followers_count),
    touch=User.username, indexes=("ix_users_display_name_trgm", "ix_users_username_trgm"),
    max_candidates=300,
)

EVENTS = Document(
    kind="events", table=Event, id=Event.id, vector=Event.search_vector,
    language=Event.search_language,
    snippet=Event.title + literal_column("' — '") + Event.description,
    fuzzy=(func.lifeceo_search_fold(Event.title),), exact=func.lifeceo_search_fold(Event.title),
    touch=Event.title, indexes=("ix_events_title_trgm",),
    # Scoring an event folds its title for the trigram similarity: 1,000 candidates took 5 ms.
    max_candidates=300,
)

DOCUMENTS = {document.kind: document for document in (POSTS, USERS, EVENTS)}
