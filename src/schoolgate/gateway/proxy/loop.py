"""Which asyncio event loop the proxy and the DNS resolver run on: uvloop when it is installed
(the `fast` extra), else the standard one. uvloop is optional so they still run wherever Python
does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")

LoopChoice = Literal["auto", "asyncio", "uvloop"]
LOOP_CHOICES: tuple[LoopChoice, ...] = ("auto", "asyncio", "uvloop")


class LoopUnavailableError(RuntimeError):
    """uvloop was asked for by name but is not installed."""


def loop_factory(choice: LoopChoice) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """A loop factory for `asyncio.Runner`, or None for the standard loop."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise LoopUnavailableError(
                "--loop uvloop: uvloop is not installed (pip install 'schoolgate[fast]')"
            ) from None
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], choice: LoopChoice = "auto") -> T:
    """Run `main` to the end on the chosen loop; its result."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)


def loop_name() -> str:
    """`uvloop` or `asyncio`: the running loop's implementation, for start-up messages."""
    return type(asyncio.get_running_loop()).__module__.split(".")[0]
