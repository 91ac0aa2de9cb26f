"""The busiest clients of this process: the rate-limited requests each client (the limiter's
subject, `user:<id>` or `ip:<address>`) had admitted since the metrics history last took them.

Counting every client exactly would grow with the number of clients; the Misra-Gries summary
keeps `capacity` counters and undercounts any client by at most the admitted requests over
capacity + 1 (3 % of them with 32 counters), which cannot hide a client that is a quarter of the
traffic: the one the monitor looks for (`abusive_client`)."""

# Counters per process and interval: 3 % is the worst undercount of any client's share.
CAPACITY = 32


class BusiestClients:
    __slots__ = ("_capacity", "_counts", "admitted")

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._counts: dict[str, int] = {}
        self.admitted = 0

    def count(self, subject: str) -> None:
        self.admitted += 1
        counts = self._counts
        if subject in counts:
            counts[subject] += 1
        elif len(counts) < self._capacity:
            counts[subject] = 1
        else:
            # Every counter pays one: those that reach zero make room for newcomers.
            for other in list(counts):
                counts[other] -= 1
                if not counts[other]:
                    del counts[other]

    def take(self) -> dict:
        """What was counted since the last take, and a fresh start."""
        taken = {"admitted": self.admitted, "top": dict(self._counts)}
        self._counts = {}
        self.admitted = 0
        return taken


BUSIEST_CLIENTS = BusiestClients()
