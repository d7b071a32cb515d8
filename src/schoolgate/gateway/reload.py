"""Hot reload of the compiled snapshot without dropping requests.

`SnapshotHolder` keeps one reference to a `(snapshot, Decider)` pair. A background thread watches
the snapshot file (inode, mtime, size) and, when it changes, loads and compiles the new one off the
request path, then swaps the reference in a single assignment: a request sees either the old pair
or the new one, never a half-built one. A snapshot that fails to load is reported and the old one
stays in force. `reload()` does the same on demand (wired to SIGHUP by the services).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from schoolgate.engine.decide import Decider

log = logging.getLogger(__name__)

Listener = Callable[[Any, Decider], None]


def _default_loader(path: Path) -> Any:
    from schoolgate.engine.snapshot import load_snapshot

    return load_snapshot(path)


class SnapshotHolder:
    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        snapshot: Any = None,
        interval: float = 1.0,
        loader: Callable[[Path], Any] = _default_loader,
    ) -> None:
        """Watch `path`, or hold a fixed `snapshot` (compiled in memory, never reloaded)."""
        if (path is None) == (snapshot is None):
            raise ValueError("give either a snapshot path or a snapshot")
        self.path = Path(path) if path is not None else None
        self.interval = interval
        self.loader = loader
        self.listeners: list[Listener] = []
        self.reloads = 0
        self.last_error: str | None = None
        self._state: tuple[Any, Decider]
        self._file_state: tuple[int, int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reload_lock = threading.Lock()
        if snapshot is not None:
            self._state = (snapshot, Decider(snapshot))
        else:
            self._file_state = file_state(self.path)
            loaded = self.loader(self.path)  # the first load's errors go to the caller
            self._state = (loaded, Decider(loaded))

    @property
    def snapshot(self) -> Any:
        return self._state[0]

    @property
    def decider(self) -> Decider:
        return self._state[1]

    def on_reload(self, listener: Listener) -> None:
        """Call `listener(snapshot, decider)` (from the reload thread) after each swap."""
        self.listeners.append(listener)

    def start(self) -> SnapshotHolder:
        if self.path is not None and self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="snapshot-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def install_sighup(self) -> None:
        """Reload on SIGHUP (from the main thread); the load itself runs in a thread."""

        def handler(signum: int, frame: object) -> None:
            threading.Thread(target=self.reload, name="snapshot-sighup", daemon=True).start()

        signal.signal(signal.SIGHUP, handler)

    def reload(self) -> bool:
        """Load the snapshot file now; True if a new snapshot was swapped in."""
        if self.path is None:
            return False
        with self._reload_lock:
            state = file_state(self.path)
            try:
                snapshot = self.loader(self.path)
                decider = Decider(snapshot)
            except Exception as exc:  # a bad snapshot must never take the gateway down
                self.last_error = f"{self.path}: {exc}"
                log.error("snapshot not reloaded, keeping the previous one: %s", self.last_error)
                self._file_state = state
                return False
            self._state = (snapshot, decider)
            self._file_state = state
            self.reloads += 1
            self.last_error = None
        log.info("snapshot %s reloaded", self.path)
        for listener in self.listeners:
            try:
                listener(snapshot, decider)
            except Exception:
                log.exception("snapshot reload listener failed")
        return True

    def check(self) -> bool:
        """Reload if the file changed since the last load."""
        state = file_state(self.path)
        if state is None or state == self._file_state:
            return False
        return self.reload()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()


def file_state(path: Path | None) -> tuple[int, int, int] | None:
    """(inode, mtime, size), to notice a file replaced or rewritten; None if it is absent."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
