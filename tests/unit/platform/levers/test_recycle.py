"""The recycle lever in one worker: it asks its supervisor once per pull, not again when the
same setting is heard again, and again for a new pull after a recycle that did not happen."""

import os
import time

from lifeceo.platform.levers.board import process_name
from lifeceo.platform.levers.recycle import WorkerRecycle


class Requests:
    """The supervisor's directory, as the worker sees it: what it asked, what it withdrew."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.withdrawn: list[int] = []

    def ask(self, pid: int) -> None:
        self.asked.append(pid)

    def withdraw(self, pid: int) -> bool:
        self.withdrawn.append(pid)
        return True

    def answered(self) -> list[dict]:
        return []


def test_a_worker_asks_once_per_pull_and_again_after_a_recycle_that_did_not_happen():
    requests = Requests()
    lever = WorkerRecycle(requests)
    me = lever.check("any", "graceful")
    assert me == process_name()
    until = time.time() + 60
    lever.apply("any", me, until)
    # The same setting heard again (a process started and asked for the settings in force).
    lever.apply("any", me, until)
    assert requests.asked == [os.getpid()]
    # The supervisor took the request but the replacement was not ready (not_recycled): a new
    # pull asks again.
    lever.apply("any", me, until + 5)
    assert requests.asked == [os.getpid()] * 2
    assert lever.state()["asked_at"] is not None


def test_another_worker_s_setting_asks_nothing_and_an_undo_withdraws_the_request():
    requests = Requests()
    lever = WorkerRecycle(requests)
    lever.apply("1", "elsewhere:1", time.time() + 60)
    assert requests.asked == []
    lever.release("1")
    assert requests.withdrawn == []
    lever.apply("any", process_name(), time.time() + 60)
    lever.release("any")
    assert requests.withdrawn == [os.getpid()]
    assert lever.state()["asked_at"] is None
