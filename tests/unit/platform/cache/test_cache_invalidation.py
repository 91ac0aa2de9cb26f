from lifeceo.platform.cache.invalidation import (
    Invalidation,
    InvalidationLog,
    PendingL2Invalidations,
    names,
)


def test_long_tag_lists_are_chunked_under_the_notify_limit_and_lose_nothing():
    tags = tuple(f"user:{n}:{'é' * 40}" for n in range(2000))
    message = Invalidation("origin", tags=tags, keys=("posts:feed:1",), l2_done=False)
    payloads = message.payloads()
    assert len(payloads) > 1
    assert all(len(payload) < 8000 for payload in payloads)
    decoded = [Invalidation.decode(payload) for payload in payloads]
    assert tuple(tag for part in decoded for tag in part.tags) == tags
    assert [key for part in decoded for key in part.keys] == ["posts:feed:1"]
    assert all(part.origin == "origin" and not part.l2_done for part in decoded)


def test_a_generation_message_is_one_payload():
    [payload] = Invalidation("o", generation=7).payloads()
    assert Invalidation.decode(payload).generation == 7


def test_log_tells_whether_a_key_or_tag_was_invalidated_since_a_point():
    log = InvalidationLog(max_names=3)
    before = log.seq
    log.record(names(["posts:1"], ["user:1"]))
    assert log.touched_since(before, names(["posts:1"]))
    assert log.touched_since(before, names(tags=["user:1"]))
    assert not log.touched_since(before, names(["posts:2"], ["user:2"]))
    assert not log.touched_since(log.seq, names(["posts:1"]))
    middle = log.seq
    log.record(names(tags=["a", "b"]))  # forgets the oldest name, conservatively
    assert log.touched_since(before, names(["unrelated"]))
    assert not log.touched_since(middle, names(["unrelated"]))


def test_pending_invalidations_overflow_into_dropping_the_generation():
    pending = PendingL2Invalidations(max_items=3)
    pending.add(tags=["user:1", "user:2"], keys=["k"])
    assert len(pending) == 3 and not pending.overflowed
    pending.add(tags=["user:3"])
    assert pending.overflowed and len(pending) == 0
    assert pending.take() == ([], [], True)
    assert not pending
