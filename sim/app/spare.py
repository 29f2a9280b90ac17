"""The first screen of a new page, prepared ahead, so a page opens without waiting for it.

Cheap to import (threading only): the server starts `prepare_soon` before it announces its
address, and the model, the page and its first charts load in that thread while the
browser fetches Solara's scripts. A page takes the spare with `take`, waiting for one being
prepared; another is prepared a little later for the next page.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.app.live import Screen
    from sim.scenario import Scenario

#: Seconds after a page took the spare before the next one is prepared (not to slow that page).
REFILL_AFTER_S = 5.0

_spares: dict[str, Screen] = {}
_lock = threading.Lock()
_ready = threading.Event()  # set: no preparation under way
_ready.set()
_refill = False


def prepare(scenario: Scenario | None = None) -> None:
    """Build the screen a new page opens with (its figures drawn once), for ``scenario``.

    Without one, the first classroom scenario. Later pages get a spare too (`take` refills).
    """
    global _refill
    _refill = True
    _ready.clear()
    try:
        # mesa first, from a shallow stack: its module logger calls `inspect.stack()`, which
        # reads every frame's source; under the page's chain of imports that cost 0.2 s
        with _stack_without_source():
            import mesa  # noqa: F401

        from sim.app import page  # noqa: F401 - loaded here, not by the first page
        from sim.app.live import Screen
        from sim.app.state import TwinFirms, classroom_scenarios

        if scenario is None:
            scenarios, _ = classroom_scenarios()
            if not scenarios:
                return
            scenario = next(iter(scenarios.values()))
        screen = Screen(TwinFirms(scenario))
        screen.draw_ahead()
        with _lock:
            _spares[scenario.name] = screen
    finally:
        _ready.set()


def prepare_soon(
    scenario: Scenario | None = None, then: Callable[[], None] | None = None
) -> threading.Thread:
    """`prepare` in a background thread, then ``then`` (if given) in that thread; a page
    opening meanwhile waits for it (`take`)."""

    def run() -> None:
        try:
            prepare(scenario)
        finally:
            if then is not None:
                then()

    _ready.clear()
    thread = threading.Thread(target=run, name="spare-screen", daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def _stack_without_source() -> Iterator[None]:
    """`inspect.stack()` without the lines of source around each frame (``context=0``).

    Mesa names its module logger after the module found by `inspect.stack()[1]`; the lines
    of source, read for every frame of the import, are not used: 0.07 s of the server's
    CPU before the first page (measured at load 4). Another thread asking for a stack
    meanwhile gets one without source lines too.
    """
    stack = inspect.stack
    inspect.stack = lambda context=1: stack(0)
    try:
        yield
    finally:
        inspect.stack = stack


def take(scenario: Scenario) -> Screen:
    """The screen a new page opens with: the spare (waiting for one being drawn), or a new one."""
    from sim.app.live import Screen
    from sim.app.state import TwinFirms

    _ready.wait(timeout=10)
    with _lock:
        screen = _spares.pop(scenario.name, None)
    if _refill:
        refill = threading.Timer(REFILL_AFTER_S, prepare, args=(scenario,))
        refill.daemon = True
        refill.start()
    if screen is not None and screen.twins.scenario == scenario:
        return screen
    return Screen(TwinFirms(scenario))
