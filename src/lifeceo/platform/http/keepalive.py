"""uvicorn's HTTP protocol, except that a worker shutting down (SIGTERM, a SIGHUP restart) does
not close idle keep-alive connections at once.

Closed at once, a connection whose client was sending its next request at that instant is reset
under it: a SIGHUP restart under 4 keep-alive clients failed one request with "Connection reset by
peer" (tests/integration/test_serve.py). Instead the next request on it is answered
with `Connection: close`, and one that stays idle closes at its keep-alive timeout, as it would
have anyway; the worker waits for both within its graceful period."""

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class GracefulHttpProtocol(HttpToolsProtocol):
    _draining = False

    def shutdown(self) -> None:
        self._draining = True
        if self.cycle is None or self.cycle.response_complete:
            if self.timeout_keep_alive_task is None:  # open, but no request yet
                self.timeout_keep_alive_task = self.loop.call_later(
                    self.timeout_keep_alive, self.timeout_keep_alive_handler)
        else:
            self.cycle.keep_alive = False

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False
