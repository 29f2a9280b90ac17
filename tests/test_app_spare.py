"""The first screen, prepared ahead: a page opening takes it, waiting for one being drawn."""

from __future__ import annotations

import threading

import pytest

from sim.app import spare
from sim.scenario import load_scenario


@pytest.fixture(autouse=True)
def _no_refill(monkeypatch):
    """No background refills left running after a test (nor in later tests' pages)."""
    monkeypatch.setattr(spare, "REFILL_AFTER_S", 3600.0)
    monkeypatch.setattr(spare, "_refill", False)  # restored after the test: prepare sets it
    yield
    for timer in threading.enumerate():
        if isinstance(timer, threading.Timer):
            timer.cancel()
    spare._spares.clear()
    spare._scenarios.clear()


def test_a_page_takes_the_screen_prepared_for_it_with_its_figures_drawn():
    bakery = load_scenario("bakery_gluten_free")
    spare.prepare(bakery)
    prepared = spare._spares["bakery_gluten_free"]
    taken = spare.take(bakery)
    assert taken is prepared
    assert taken.twins.period == 0
    # every chart drawn once, ahead; no matplotlib figure made (they are for exports)
    assert set(taken._charts) == set(taken.charts)
    assert set(taken.charts) == {"over_time", "sailing", "departments", "timeline"}
    assert taken._views is None and not taken._frames
    assert "bakery_gluten_free" not in spare._spares  # each spare serves one page


def test_a_page_opening_while_the_spare_is_drawn_waits_for_it():
    bakery = load_scenario("bakery_gluten_free")
    thread = spare.prepare_soon(bakery)
    taken = spare.take(bakery)  # no sleep: take waits for the thread
    thread.join()
    assert taken.twins.scenario == bakery
    assert set(taken._charts) == set(taken.charts)


def test_another_scenario_gets_a_new_screen_not_the_spare():
    spare.prepare(load_scenario("bakery_gluten_free"))
    boutique = load_scenario("boutique_online")
    taken = spare.take(boutique)
    assert taken.twins.scenario == boutique
    assert "bakery_gluten_free" in spare._spares  # still there for a bakery page


def test_without_a_scenario_the_first_classroom_scenario_is_prepared():
    from sim.app.state import classroom_scenarios

    spare.prepare()
    first = next(iter(classroom_scenarios()[0]))
    assert list(spare._spares) == [first]


def test_then_runs_after_the_screen_is_prepared_in_its_thread():
    bakery = load_scenario("bakery_gluten_free")
    seen = []
    thread = spare.prepare_soon(
        bakery, then=lambda: seen.append(("bakery_gluten_free" in spare._spares, _thread()))
    )
    thread.join()
    assert seen == [(True, thread.name)]


def test_the_stack_without_source_reads_no_lines_and_is_put_back():
    import inspect

    standard = [(f.filename, f.lineno, f.function) for f in inspect.stack()]
    outer = [(f.filename, f.function) for f in inspect.getouterframes(inspect.currentframe())]
    with spare._stack_without_source():
        assert inspect.stack()[0].code_context is None
        # the same frames, names and files (what Mesa's loggers read), looked up no source
        cheap = [(f.filename, f.lineno, f.function) for f in inspect.stack()]
        cheap_outer = inspect.getouterframes(inspect.currentframe())
        assert cheap_outer[0].code_context is None
        assert [(f.filename, f.function) for f in cheap_outer] == outer
    assert [c[0] for c in cheap] == [s[0] for s in standard]
    assert [c[2] for c in cheap] == [s[2] for s in standard]
    assert cheap[1:] == standard[1:]  # (the first frame's line is where each was called)
    assert inspect.stack()[0].code_context is not None  # the standard ones again
    assert inspect.getouterframes(inspect.currentframe())[0].code_context is not None


def test_mesa_names_its_method_loggers_classes_without_source(caplog):
    """Mesa's method logger names the decorated class from the frame above it: with the
    cheap frames the log still says which class's method was called."""
    from mesa import mesa_logging

    with spare._stack_without_source():

        class Firm:
            @mesa_logging.method_logger("sim.test")
            def act(self) -> None:
                pass

    with caplog.at_level("DEBUG", logger=f"{mesa_logging.LOGGER_NAME}.sim.test"):
        Firm().act()
    assert any("calling Firm.act" in record.getMessage() for record in caplog.records)


def _thread() -> str:
    return threading.current_thread().name


def test_the_first_page_gets_the_scenarios_the_start_read_and_later_pages_read_them_again():
    from sim.app.state import classroom_scenarios

    spare._scenarios.clear()
    thread = spare.prepare_soon()
    first = spare.take_scenarios()  # waits for the start's reading
    thread.join()
    assert spare._scenarios == []  # given once
    again = spare.take_scenarios()
    assert again[0] is not first[0]  # read again
    assert list(first[0]) == list(again[0]) == list(classroom_scenarios()[0])
    assert first[1] == again[1]
