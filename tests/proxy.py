"""A TCP proxy between a worker and a server, that a test can kill to cut the network.

It forwards every connection to the server, byte for byte, on loopback; `kill()` closes the
listening socket and both ends of every connection at once, as a cut cable would end them
once the peers notice.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


class TcpProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.guard = threading.Lock()
        self.killed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def kill(self) -> None:
        with self.guard:
            self.killed = True
            sockets, self.sockets = self.sockets, []
        with contextlib.suppress(OSError):
            self.listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self.guard:
                if self.killed:
                    client.close()
                    server.close()
                    return
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def proxied(url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy to the server of a `postgresql://user:pw@127.0.0.1:PORT/db` URL, and the URL
    that goes through it."""
    head, _, tail = url.rpartition("@")
    address, _, database = tail.partition("/")
    host, _, port = address.partition(":")
    proxy = TcpProxy(host, int(port))
    try:
        yield proxy, f"{head}@127.0.0.1:{proxy.port}/{database}"
    finally:
        proxy.kill()
