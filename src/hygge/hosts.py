"""A database server's host as an identity: two spellings of one server give one string.

Destination locks and the plan's conflict check key on it (`hygge.connections.server_target`).
Case, brackets and a trailing dot never matter; an address is written in its one canonical
form; and every spelling of this machine (`localhost`, `127.0.0.1`, `::1`, a Unix socket
folder, a name that resolves only to loopback addresses) is `localhost`. Other names stay
names: cloud databases (Azure SQL, Neon, many poolers) serve many servers behind one address
and tell them apart by the name, so an address would merge servers that are not one. A name
is resolved once per process, and for at most `RESOLVE_SECONDS`: a slow resolver delays a
plan by that much at most, and a name it cannot resolve in time stays itself.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from functools import cache

LOCAL = "localhost"
RESOLVE_SECONDS = 2.0


def host_identity(host: str) -> str:
    """The host as written, in the form every spelling of its server shares."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if not name or name.startswith("/"):  # libpq's default or a named Unix socket folder
        return LOCAL
    try:
        address = ipaddress.ip_address(name.partition("%")[0])  # an IPv6 zone adds nothing
    except ValueError:
        return LOCAL if _is_this_machine(name) else name
    return LOCAL if _is_loopback(address) else str(address)


def _is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


@cache
def _is_this_machine(name: str) -> bool:
    if name == LOCAL or name.endswith("." + LOCAL):  # RFC 6761: always loopback
        return True
    addresses = _resolved(name)
    return bool(addresses) and all(_is_loopback(ipaddress.ip_address(a)) for a in addresses)


def _resolved(name: str) -> set[str]:
    """The addresses name resolves to, or none when the resolver fails or is too slow (its
    thread is left to finish on its own: getaddrinfo cannot be interrupted)."""
    found: set[str] = set()

    def resolve() -> None:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return
        found.update(str(info[4][0]).partition("%")[0] for info in infos)

    worker = threading.Thread(target=resolve, name="hygge-resolve", daemon=True)
    worker.start()
    worker.join(RESOLVE_SECONDS)
    return set(found) if not worker.is_alive() else set()
