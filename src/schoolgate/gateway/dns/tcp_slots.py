"""Fair shares of DNS-over-TCP connections, so one client cannot lock the others out.

A TCP connection costs the resolver a socket and a task for as long as the client keeps it open
(up to the idle timeout). With one global cap, a single device holding every slot with idle
connections shut every other device out of DNS over TCP, which truncated answers need. So:
- each client address may hold at most `per_client` connections; more are closed at once;
- when all `total` slots are taken, the connection idle longest is closed to make room for the
  newcomer (RFC 7766 §6.2.2 lets a server close idle connections when it must).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from typing import Protocol

TOTAL_CONNECTIONS = 512
PER_CLIENT_CONNECTIONS = 16


class Closable(Protocol):
    def close(self) -> None: ...


class TcpSlots:
    def __init__(
        self, total: int = TOTAL_CONNECTIONS, per_client: int = PER_CLIENT_CONNECTIONS
    ) -> None:
        self.total = total
        self.per_client = per_client
        self._by_client: Counter[str] = Counter()
        self._open: OrderedDict[Closable, str] = OrderedDict()
        """Open connections, the one idle longest first."""

    def admit(self, client: str, connection: Closable) -> bool:
        """Take a slot for a new connection; False when this client already holds its share."""
        if self._by_client[client] >= self.per_client:
            return False
        while len(self._open) >= self.total:
            idle, _ = next(iter(self._open.items()))
            self.release(idle)
            idle.close()
        self._open[connection] = client
        self._by_client[client] += 1
        return True

    def touch(self, connection: Closable) -> None:
        """The connection was just used: it is now the last to be closed for room."""
        if connection in self._open:
            self._open.move_to_end(connection)

    def release(self, connection: Closable) -> None:
        """Give the slot back; closing a connection that was already evicted is a no-op."""
        client = self._open.pop(connection, None)
        if client is not None:
            self._by_client[client] -= 1
            if not self._by_client[client]:
                del self._by_client[client]

    def __len__(self) -> int:
        return len(self._open)
