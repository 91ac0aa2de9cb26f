"""Names of what the posts package caches, and the tags its writes drop from the feeds."""

# Invalidated by every write that changes a post; the TTL only bounds what a change made
# outside the application can cost.
POST_TTL_SECONDS = 300
LIKED_TTL_SECONDS = 300
# The public feed's pages: dropped whenever a public post appears, goes or changes visibility.
PUBLIC_FEED_TAG = "feed:public"
# A home page is tagged with each of its authors, or past this many (an entry has at most 64
# tags, one of which is the viewer's) with the buckets of their ids: a post by anyone in one of
# its buckets then drops it.
AUTHOR_BUCKETS = 61


def post_key(post_id: int) -> str:
    """What every viewer sees of a post (a PostEntry): neither its byline nor liked_by_me."""
    return f"post:{post_id}"


def author_tag(author_id: int) -> str:
    """Pages listing the author's posts (and no one else's, or few others')."""
    return f"author:{author_id}"


def _bucket_tag(author_id: int) -> str:
    return f"authors:{author_id % AUTHOR_BUCKETS}"


def written_by(author_id: int) -> list[str]:
    """The tags of every page listing the author's posts: a new, deleted or re-scoped post of
    theirs drops them all."""
    return [author_tag(author_id), _bucket_tag(author_id)]


def authors_tags(author_ids: list[int]) -> list[str]:
    """The tags of a page of posts by any of these authors."""
    if len(author_ids) <= AUTHOR_BUCKETS:
        return [author_tag(author_id) for author_id in author_ids]
    return sorted({_bucket_tag(author_id) for author_id in author_ids})


def liked_key(user_id: int, post_id: int) -> str:
    """Whether the user likes the post (liked_by_me): dropped by their like or unlike."""
    return f"liked:{user_id}:{post_id}"
