"""Deterministic rows: the same seed gives the same users, posts and events, whatever the ids."""

import itertools
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from lifeceo.community.users.models import TANGO_ROLES
from lifeceo.seed import vocabulary as words

DAY = timedelta(days=1)
# Posts spread over the last 90 days; accounts are older than every post.
POST_WINDOW = 90 * DAY
ACCOUNT_AGE_DAYS = (91, 730)
# Events start between a month ago (some are past) and four months ahead.
EVENT_WINDOW_DAYS = (-30, 120)
MAX_FOLLOWS_PER_USER = 8
MAX_LIKES_PER_POST = 40
MAX_RSVPS_PER_EVENT = 40
# Zipf exponent: a few users attract most follows and write most posts, as on real networks.
POPULARITY_EXPONENT = 0.9


def username_for(number: int) -> str:
    return f"user{number:05d}"


class RowGenerator:
    """One random stream per kind of row: changing one count does not reshuffle the others."""

    def __init__(self, *, seed: int, now: datetime) -> None:
        self.seed = seed
        self.now = now

    def _rng(self, stream: str) -> random.Random:
        # String seeds are hashed with SHA-512: stable across runs and PYTHONHASHSEED.
        return random.Random(f"{self.seed}:{stream}")

    def _skewed_weights(self, rng: random.Random, count: int) -> list[float]:
        ranks = list(range(1, count + 1))
        rng.shuffle(ranks)
        return list(itertools.accumulate(1 / rank ** POPULARITY_EXPONENT for rank in ranks))

    def users(self, *, first_number: int, count: int, password_hash: str) -> list[dict]:
        rng = self._rng("users")
        rows = []
        for number in range(first_number, first_number + count):
            username = username_for(number)
            city, _zone = rng.choice(words.TANGO_CITIES)
            year = rng.randint(1995, 2024)
            opening = rng.choice(words.BIO_OPENINGS).format(year=year, city=city)
            bio = " ".join(filter(None, (opening, rng.choice(words.BIO_CLOSINGS))))
            rows.append({
                "username": username,
                "email": f"{username}@example.org",
                "password_hash": password_hash,
                "display_name": f"{rng.choice(words.FIRST_NAMES)} {rng.choice(words.LAST_NAMES)}",
                "bio": bio,
                "city": city,
                "roles": sorted(rng.sample(TANGO_ROLES, rng.randint(1, 2))),
                "created_at": self.now - rng.uniform(*ACCOUNT_AGE_DAYS) * DAY,
            })
        return rows

    def follows(self, user_ids: Sequence[int]) -> list[dict]:
        rng = self._rng("follows")
        if len(user_ids) < 2:
            return []
        weights = self._skewed_weights(rng, len(user_ids))
        rows = []
        for index, follower_id in enumerate(user_ids):
            picks = rng.choices(range(len(user_ids)), cum_weights=weights,
                                k=rng.randint(0, MAX_FOLLOWS_PER_USER))
            for followee in sorted(set(picks) - {index}):
                rows.append({"follower_id": follower_id, "followee_id": user_ids[followee],
                             "created_at": self.now - rng.uniform(0, 90) * DAY})
        return rows

    def posts(self, user_ids: Sequence[int], count: int) -> list[dict]:
        rng = self._rng("posts")
        if not user_ids:
            return []
        weights = self._skewed_weights(rng, len(user_ids))
        authors = rng.choices(user_ids, cum_weights=weights, k=count)
        rows = []
        for author_id in authors:
            fill = {"city": rng.choice(words.TANGO_CITIES)[0],
                    "orchestra": rng.choice(words.ORCHESTRAS)}
            sentences = [rng.choice(words.POST_OPENINGS),
                         *rng.sample(words.POST_MIDDLES, rng.randint(0, 2)),
                         rng.choice(words.POST_CLOSINGS)]
            visibility = rng.choices(("public", "followers", "private"), weights=(90, 8, 2))[0]
            rows.append({
                "author_id": author_id,
                "body": " ".join(s.format(**fill) for s in sentences if s),
                "tags": sorted(rng.sample(words.POST_TAGS, rng.randint(0, 3))),
                "visibility": visibility,
                "created_at": self.now - rng.uniform(0, 1) * POST_WINDOW,
            })
        return rows

    def likes(self, posts: Sequence[tuple[int, datetime]], user_ids: Sequence[int]) -> list[dict]:
        rng = self._rng("likes")
        rows = []
        for post_id, created_at in posts:
            # Pareto: most posts get a like or two, a few get dozens.
            count = min(int(rng.paretovariate(1.4)) - 1, MAX_LIKES_PER_POST, len(user_ids))
            for user_id in rng.sample(user_ids, count):
                rows.append({"post_id": post_id, "user_id": user_id,
                             "created_at": created_at + (self.now - created_at) * rng.random()})
        return rows

    def comments(self, posts: Sequence[tuple[int, datetime]],
                 user_ids: Sequence[int]) -> list[dict]:
        rng = self._rng("comments")
        if not user_ids:
            return []
        rows = []
        for post_id, created_at in posts:
            for _ in range(int(rng.expovariate(1.0))):
                rows.append({"post_id": post_id, "author_id": rng.choice(user_ids),
                             "body": rng.choice(words.COMMENTS),
                             "created_at": created_at + (self.now - created_at) * rng.random()})
        return rows

    def events(self, organizers: Sequence[tuple[int, str]], count: int) -> list[dict]:
        """`organizers` are (user id, home city); most events happen in the organizer's city."""
        rng = self._rng("events")
        if not organizers:
            return []
        zones = dict(words.TANGO_CITIES)
        rows = []
        for _ in range(count):
            organizer_id, home = rng.choice(organizers)
            away = rng.choice(words.TANGO_CITIES)[0]
            city = home if home in zones and rng.random() < 0.7 else away
            template, hours, tags = rng.choice(words.EVENT_KINDS)
            title = template.format(name=rng.choice(words.EVENT_NAMES), city=city,
                                    topic=rng.choice(words.WORKSHOP_TOPICS),
                                    orchestra=rng.choice(words.ORCHESTRAS))
            day = self.now.replace(minute=0, second=0, microsecond=0)
            starts_at = day + rng.randint(*EVENT_WINDOW_DAYS) * DAY + timedelta(
                hours=rng.randint(0, 23))
            capacity = None if rng.random() < 0.3 else rng.choice((30, 50, 80, 120, 200, 400))
            rows.append({
                "organizer_id": organizer_id,
                "title": title,
                "description": f"{title} at {rng.choice(words.VENUES)}. "
                               f"DJ plays {rng.choice(words.ORCHESTRAS)} and more.",
                "city": city,
                "venue": rng.choice(words.VENUES),
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(hours=hours),
                "timezone": zones[city],
                "tags": list(tags),
                "price": Decimal(rng.choice(words.PRICES)),
                "capacity": capacity,
            })
        return rows

    def rsvps(self, events: Sequence[tuple[int, int | None]],
              user_ids: Sequence[int]) -> list[dict]:
        """`events` are (event id, capacity); nobody is 'going' beyond the capacity."""
        rng = self._rng("rsvps")
        rows = []
        for event_id, capacity in events:
            going = 0
            for user_id in rng.sample(user_ids, min(rng.randint(0, MAX_RSVPS_PER_EVENT),
                                                    len(user_ids))):
                wants_to_go = rng.random() < 0.6 and (capacity is None or going < capacity)
                going += wants_to_go
                rows.append({"event_id": event_id, "user_id": user_id,
                             "status": "going" if wants_to_go else "interested"})
        return rows
