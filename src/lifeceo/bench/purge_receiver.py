"""A stand-in for Varnish that `lifeceo monitor eval` points the server's purges at: it answers
each PURGE with 200, as Varnish's xkey VCL does, so that the background load's writes make
outgoing calls of a real kind (the slow_dependency fault delays them) without a Varnish to
install."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Purged(BaseHTTPRequestHandler):
    def do_PURGE(self) -> None:  # noqa: N802 - the method's name is http.server's convention
        self.server.purges += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


class PurgeReceiver:
    """On a free loopback port while the block runs; `url` is the setting's value."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Purged)
        self._server.purges = 0
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, name="purges",
                                        daemon=True)

    @property
    def purges(self) -> int:
        return self._server.purges

    def __enter__(self) -> "PurgeReceiver":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
