"""What a notification says, and which @names in a text are mentions."""

import pytest

from lifeceo.community.notifications.service import MAX_MENTIONS, mentioned_usernames, summary


@pytest.mark.parametrize(("body", "names"), [
    ("Tanda with @Ana and @bob_2, then @ana again", ["ana", "bob_2"]),
    ("(@cyd), @dan! @eve? @fay.", ["cyd", "dan", "eve", "fay"]),
    ("write to ana@example.org or @@bob or @xy", []),
    ("@" + "a" * 31, []),
    ("", []),
])
def test_mentions_are_usernames_after_an_at_sign_outside_words(body, names):
    assert mentioned_usernames(body) == names


def test_a_roll_call_mentions_only_the_first_ten():
    body = " ".join(f"@dancer{i}" for i in range(25))
    assert mentioned_usernames(body) == [f"dancer{i}" for i in range(MAX_MENTIONS)]


@pytest.mark.parametrize(("kind", "actors", "count", "text"), [
    ("like", ["ana"], 1, "@ana liked your post"),
    ("like", ["ana", "bob"], 2, "@ana and @bob liked your post"),
    ("like", ["ana", "bob", "cyd"], 3, "@ana and 2 others liked your post"),
    ("rsvp", ["ana", "bob", "cyd"], 10, "@ana and 9 others RSVPed to your event"),
    ("follow", ["ana"], 1, "@ana started following you"),
    ("comment", ["ana"], 1, "@ana commented on your post"),
    ("mention", ["ana"], 1, "@ana mentioned you"),
    ("like", [], 1, "Someone liked your post"),
])
def test_summaries_name_the_latest_actor_and_count_the_others(kind, actors, count, text):
    assert summary(kind, actors, count) == text
