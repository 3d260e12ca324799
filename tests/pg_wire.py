"""A TCP proxy in front of PostgreSQL that counts round trips: what actually goes over the wire.

A round trip is one client turn: the client sends (one or more packets) and then waits for the
server. The proxy counts a turn each time the client sends after the server last spoke (or first),
so statements queued in a psycopg pipeline and flushed together count once, BEGIN sent on its own
counts, and so do the pool's pre-ping and COMMIT. No statement text is parsed.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class CountingProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.turns = 0
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._last: dict[int, str] = {}  # per client socket: who spoke last ("client" or "server")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> CountingProxy:
        self.listener.setblocking(False)
        self._selector.register(self.listener, selectors.EVENT_READ, None)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    def reset(self) -> None:
        with self._lock:
            self.turns = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                if key.data is None:
                    client, _ = self.listener.accept()
                    server = socket.create_connection(self.target)
                    for sock in (client, server):
                        sock.setblocking(True)
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self._selector.register(client, selectors.EVENT_READ, (server, "client", client.fileno()))
                    self._selector.register(server, selectors.EVENT_READ, (client, "server", client.fileno()))
                    continue
                peer, side, pair = key.data
                sock = key.fileobj
                data = sock.recv(65536)  # type: ignore[union-attr]
                if not data:
                    for s in (sock, peer):
                        with suppress(KeyError, ValueError):
                            self._selector.unregister(s)
                        s.close()  # type: ignore[union-attr]
                    continue
                with self._lock:
                    if side == "client" and self._last.get(pair) != "client":
                        self.turns += 1
                    self._last[pair] = side
                peer.sendall(data)


@contextmanager
def counting_proxy(host: str, port: int) -> Iterator[CountingProxy]:
    proxy = CountingProxy(host, port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
