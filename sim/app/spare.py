"""The first screen of a new page, prepared ahead, so a page opens without waiting for it.

Cheap to import (threading only): the server starts `prepare_soon` before it announces its
address, and the model, the page and its first charts load in that thread while the
browser fetches Solara's scripts. A page takes the spare with `take`, waiting for one being
prepared; another is prepared a little later for the next page.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.app.live import Screen
    from sim.scenario import Scenario

#: Seconds after a page took the spare before the next one is prepared (not to slow that page).
REFILL_AFTER_S = 5.0

_spares: dict[str, Screen] = {}
#: The classroom's scenarios as `prepare` read them, for the first page (`take_scenarios`).
_scenarios: list[tuple[dict[str, Scenario], dict[str, str]]] = []
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
            scenarios, broken = classroom_scenarios()
            with _lock:
                _scenarios[:] = [(scenarios, broken)]
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
    """`inspect.stack()` and `inspect.getouterframes()` without looking up each frame's source.

    Mesa names its module logger after the module found by `inspect.stack()[1]`, and its
    method logger (decorating `Model` and `Agent`) names the class from
    `inspect.getouterframes(...)[1]`. For every frame of the import chain, both read lines of
    source and look for the frame's source file and module (`inspect.getmodule` goes through
    every loaded module): none of it is used. With the frames' own file names and no lines of
    source, Mesa's import took 0.2 s less of the server's CPU before the first page. Another
    thread asking for frames meanwhile gets them the same way.
    """
    stack, outer = inspect.stack, inspect.getouterframes
    inspect.stack = lambda context=1: _outer_frames(sys._getframe(1))
    inspect.getouterframes = lambda frame, context=1: _outer_frames(frame)
    try:
        yield
    finally:
        inspect.stack, inspect.getouterframes = stack, outer


def _outer_frames(frame: FrameType | None) -> list[inspect.FrameInfo]:
    """``frame`` and its callers as `inspect.FrameInfo`, with no source looked up."""
    frames = []
    while frame is not None:
        code = frame.f_code
        frames.append(
            inspect.FrameInfo(frame, code.co_filename, frame.f_lineno, code.co_name, None, None)
        )
        frame = frame.f_back
    return frames


def take_scenarios() -> tuple[dict[str, Scenario], dict[str, str]]:
    """The classroom's scenarios and the files that failed (`classroom_scenarios`): those the
    server's start read (waiting for it), once, for the first page; read again for later pages.

    Reading the fifteen files in the first page's render took 0.06 s of the server's CPU
    before the page was usable, half of that render.
    """
    _ready.wait(timeout=10)
    with _lock:
        found = _scenarios.pop() if _scenarios else None
    if found is not None:
        return found
    from sim.app.state import classroom_scenarios

    return classroom_scenarios()


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
