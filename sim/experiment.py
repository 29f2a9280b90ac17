"""The one experiment path: scenario x strategies x seeds -> per-run and per-period tables.

Every strategy on seed k faces the same landscapes, market and start (common random numbers),
because a `Market` draws all of those from its seed before any firm acts.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.engine import History
from sim.frames import decision_names
from sim.metrics import FLOAT_COLUMNS, summarize_run
from sim.model import Change, Market, engine_for, step_together
from sim.population import Population
from sim.scenario.checks import check_seed, check_seeds, check_strategies
from sim.scenario.errors import ScenarioError
from sim.scenario.load import as_scenario
from sim.scenario.schema import Scenario, mean_level

#: Firms computed together in one engine at most, what their markets' landscapes may hold and
#: what their per-period records may hold (bounds memory; results do not depend on the
#: batches; the larger a batch, the fewer numpy calls per firm).
BATCH_ROWS = 16384
BATCH_MEMORY = 512e6
BATCH_HISTORY = 128e6


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch is built and run: a batch makes
    thousands of objects that live as long as it does (markets, agents, graphs) and little
    cyclic garbage, and the collector's full passes over them cost more than the engine in a
    population experiment. Back on (if it was) when the batch is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def market_bytes(scenario: Scenario) -> int:
    """Memory of one market's landscapes in an engine: 2**N configurations x (departments'
    efficiencies, the market value basis, landscape performance); above
    `sim.limits.TABULATED_DECISIONS` (evaluated on demand) the contribution tables only, at
    most N x 2**(1 + K) numbers for each of the two landscapes (K: the largest of a scenario's
    dependencies per decision), plus 1 MB for what an evaluation holds meanwhile."""
    from sim.limits import TABULATED_DECISIONS

    n = len(scenario.decisions)
    if n <= TABULATED_DECISIONS:
        return 2**n * (len(scenario.departments) + 4) * 8
    eff = scenario.efficiency
    k = max(eff.k, eff.k_within + eff.cross, scenario.market.k)
    return 2 * n * 2 ** min(1 + k, n) * 8 + 2**20


def history_bytes(scenario: Scenario) -> int:
    """Memory of one firm's per-period records in an engine (`sim.engine.History`), at most:
    per period, the floats, each department's efficiency, understanding and engagement, four
    integers and a flag; a population's firm: only `History.POPULATION`, 8 bytes each."""
    if scenario.population.firms > 1:
        return (scenario.horizon + 1) * len(History.POPULATION) * 8
    numbers = len(History.FLOATS) + 3 * len(scenario.departments) + 4
    return (scenario.horizon + 1) * (numbers * 8 + 1)


def _per_batch(scenario: Scenario, runs_per_market: int, batch_rows: int) -> int:
    """Runs (each with its own market, at worst) per batch: within the rows and the memory of
    their records and landscapes."""
    rows = min(batch_rows, int(BATCH_HISTORY // history_bytes(scenario)))
    by_rows = rows // max(1, runs_per_market)
    by_memory = int(BATCH_MEMORY // market_bytes(scenario))
    return max(1, min(by_rows, by_memory))


@dataclass(repr=False)
class ExperimentResult:
    """What `run_experiment` returns: the scenario as run, the strategies and seeds, per-run
    outcomes (`runs`, one row per strategy x seed, docs/ODD.md section 9.2) and, optionally,
    per-period records (`periods`, one row per run per period, section 9.1).

    `sim.stats.summary_table(result, wide=True)` gives the table `python -m sim run` prints.
    """

    scenario: Scenario
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    runs: pd.DataFrame
    periods: pd.DataFrame | None
    markets: pd.DataFrame | None = None  # per market and period, with [competition] only

    def __repr__(self) -> str:
        from sim.display import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from sim.display import result_html

        return result_html(self)


def resolve_seeds(scenario: Scenario, seeds: int | Iterable[int] | None) -> tuple[int, ...]:
    """Seeds 0..n-1 for a count (the scenario's `seeds` by default), or the seeds given (a
    `ScenarioError` for anything else, see `sim.scenario.checks.check_seeds`)."""
    return check_seeds(scenario, seeds)


def run_one(
    scenario: Scenario, strategy: str, seed: int, *, periods: bool = True
) -> tuple[dict, pd.DataFrame | None]:
    """One run: ``strategy`` on ``seed``, to the horizon (the same numbers as in any batch);
    ``scenario`` may be a scenario's name or file."""
    scenario = as_scenario(scenario)
    check_strategies(scenario, [strategy], field="strategy")
    return simulate([(scenario, strategy, check_seed(seed))], periods=periods)[0]


Run = tuple[Scenario, str, int]


@dataclass(repr=False)
class Simulation:
    """The outcomes of runs, in the order asked (`simulate`): ``rows``, one per-run dict each
    (the runs table's row, `runs_table`); ``periods``, their per-period tables stacked in the
    same order (None without them); ``spans[i]``, the rows of run i in ``periods``. Indexing
    or iterating gives (row, per-period table) per run."""

    rows: list[dict]
    periods: pd.DataFrame | None
    spans: list[tuple[int, int]]

    def __repr__(self) -> str:
        periods = "no periods" if self.periods is None else f"periods {len(self.periods)} rows"
        return f"Simulation({len(self.rows)} runs, {periods})"

    def frame(self, i: int) -> pd.DataFrame | None:
        """Run ``i``'s per-period table."""
        if self.periods is None:
            return None
        start, stop = self.spans[i]
        return self.periods.iloc[start:stop].reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[dict, pd.DataFrame | None]:
        return self.rows[i], self.frame(i)

    def __iter__(self) -> Iterator[tuple[dict, pd.DataFrame | None]]:
        return (self[i] for i in range(len(self)))


def simulate(
    runs: Sequence[Run],
    *,
    periods: bool = True,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int], None] | None = None,
    changes: Sequence[Change] = (),
    stream: str | None = None,
) -> Simulation:
    """Runs (scenario, strategy, seed) computed in batches; outcomes in the order given.

    Runs whose scenarios have the same decisions, departments and horizon share an engine (up to
    ``batch_rows`` firms at a time); runs on the same seed and market share a `Market`. A
    firm's numbers depend only on its scenario, strategy and seed (`sim.streams`), so the
    result is the same for any batch size and any order of ``runs``. ``changes`` are made in
    every run (to the firms they name) at their periods. With ``stream``, every firm draws
    from the stream of that name instead of its strategy's (common random numbers across
    strategies, e.g. the arms of a decomposition).
    """
    for scenario, _, _ in runs:
        if scenario.competition is not None:
            raise ScenarioError(
                f"scenario {scenario.name}",
                "competition",
                "a market of competing firms holds its whole mix: run it with `python -m sim run` "
                "(sim.competition.run_competition); this command runs firms that each have "
                "their market to itself",
            )
    rows: list[dict | None] = [None] * len(runs)
    tables: list[tuple[list[int], pd.DataFrame]] = []
    families: dict[tuple, list[int]] = {}
    for i, (scenario, _, _) in enumerate(runs):
        key = (
            scenario.decisions,  # one set of decision columns per periods table
            scenario.department_decisions,
            tuple(d.name for d in scenario.departments),
            scenario.horizon,
            scenario.population.firms > 1,
        )
        families.setdefault(key, []).append(i)
    for members in families.values():
        firms_per_run = runs[members[0]][0].population.firms
        per_batch = _per_batch(runs[members[0]][0], firms_per_run, batch_rows)
        for start in range(0, len(members), per_batch):
            chunk = members[start : start + per_batch]
            with _collector_paused():
                chunk_rows, table = _simulate_batch(
                    [runs[i] for i in chunk], periods, changes, stream
                )
            for i, row in zip(chunk, chunk_rows, strict=True):
                rows[i] = row
            if table is not None:
                tables.append((chunk, table))
            if progress is not None:
                progress(len(chunk))
    if not tables:
        return Simulation(rows, None, [])  # type: ignore[arg-type]
    order = [i for chunk, _ in tables for i in chunk]
    table = (
        pd.concat([t for _, t in tables], ignore_index=True) if len(tables) > 1 else tables[0][1]
    )
    lengths = np.array([runs[i][0].horizon + 1 for i in order])
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    if order != sorted(order):  # put the runs' blocks in the order asked
        position = np.argsort(order)
        table = table.iloc[
            np.concatenate([np.arange(starts[p], starts[p] + lengths[p]) for p in position])
        ].reset_index(drop=True)
        lengths = lengths[position]
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    spans = [(int(a), int(a + n)) for a, n in zip(starts, lengths, strict=True)]
    return Simulation(rows, table, spans)  # type: ignore[arg-type]


def run_markets(
    scenario: Scenario,
    seeds: Iterable[int],
    strategies: Sequence[str] | None = None,
    *,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[Market]:
    """Markets of ``scenario`` on each seed with a firm (or population) per strategy, run to
    the horizon in batches of at most ``batch_rows`` firms stepped together; yielded in the
    order of ``seeds`` (the same numbers as running each alone); ``scenario`` may be a
    scenario's name or file."""
    scenario = as_scenario(scenario)
    names = tuple(strategies) if strategies is not None else scenario.compared_strategies
    per_market = max(1, len(names) * scenario.population.firms)
    seeds = list(seeds)
    step = _per_batch(scenario, per_market, batch_rows)
    for start in range(0, len(seeds), step):
        with _collector_paused():
            engine = engine_for(scenario, markets=len(seeds[start : start + step]))
            chunk = [
                Market(scenario=scenario, strategies=names, rng=seed, engine=engine)
                for seed in seeds[start : start + step]
            ]
            step_together(chunk)
        yield from chunk


def _market_key(scenario: Scenario) -> str:
    """Everything a `Market` is built from (runs with equal keys and seeds share a market)."""
    data = scenario.model_dump(
        include={
            "horizon": True,
            "departments": True,
            "efficiency": True,
            "market": True,
            "population": True,
            "effects": True,
            "firm": {"beta", "initial_decisions", "start"},
        }
    )
    return json.dumps(data, sort_keys=True, default=str)


def _simulate_batch(
    runs: Sequence[Run],
    periods: bool,
    changes: Sequence[Change] = (),
    stream: str | None = None,
) -> tuple[list[dict], pd.DataFrame | None]:
    """One engine for ``runs``: a market per (market, seed), a firm per run, stepped together;
    the per-run rows and the per-period table of all runs in order."""
    market_keys = {id(sc): _market_key(sc) for sc in {id(sc): sc for sc, _, _ in runs}.values()}
    keys = [(market_keys[id(scenario)], seed) for scenario, _, seed in runs]
    engine = engine_for(runs[0][0], markets=len(set(keys)))
    markets: dict[tuple[str, int], Market] = {}
    owners = []
    for (scenario, strategy, seed), key in zip(runs, keys, strict=True):
        if key not in markets:
            markets[key] = Market(scenario=scenario, strategies=[], rng=seed, engine=engine)
        market = markets[key]
        spec = scenario.strategy(strategy)  # an `UnknownStrategy` (ScenarioError) if not known
        owners.append(market.add_firm(strategy, spec, scenario=scenario, stream=stream))
    for market in markets.values():
        for change in changes:
            market.schedule(change)
    step_together(list(markets.values()))
    if isinstance(owners[0], Population):
        collected = [
            _collect_population(a.market, a, a.market.seed, periods=periods) for a in owners
        ]
        rows = [row for row, _ in collected]
        frames = [frame for _, frame in collected if frame is not None]
        return rows, pd.concat(frames, ignore_index=True) if frames else None
    rows = [_summary(firm) for firm in owners]
    return rows, _firm_periods(owners) if periods else None


def _firm_periods(firms: Sequence) -> pd.DataFrame:
    """The per-period table of ``firms`` (rows of one engine), one block per firm, in order."""
    engine = firms[0].engine
    history = engine.history
    rows = np.array([f.row for f in firms])
    length = engine.horizon + 1
    path = firms[0].log.path()

    def stacked(values: np.ndarray) -> np.ndarray:
        return values[:, rows].T.reshape(-1)

    columns: dict[str, np.ndarray] = {
        "strategy": np.repeat(np.array([f.strategy_name for f in firms], dtype=object), length),
        "seed": np.repeat(np.array([f.market.seed for f in firms], dtype=np.int64), length),
        "period": np.tile(np.arange(length), len(firms)),
    }
    for name in FLOAT_COLUMNS:
        columns[name] = stacked(path["heading"] if name == "heading" else getattr(history, name))
    columns["config"] = stacked(history.config)
    columns["miles"] = stacked(history.moved)
    columns["distance_to_port"] = stacked(history.distance_to_port)
    columns["cycle_length"] = stacked(path["cycle_length"])
    columns["alive"] = stacked(history.alive)
    columns["in_cycle"] = stacked(path["in_cycle"])
    columns["revisit"] = stacked(path["revisit"])
    for d, department in enumerate(firms[0].spec.departments):
        columns[f"efficiency_{department.name}"] = stacked(history.department_efficiency[..., d])
    for part in ("understanding", "engagement"):  # only where the mechanism is on
        values = getattr(history, part)
        if (
            values is not None
            and getattr(engine, "understands" if part == "understanding" else "engaged")[rows].any()
        ):
            for d, department in enumerate(firms[0].spec.departments):
                columns[f"{part}_{department.name}"] = stacked(values[..., d])
    if history.shares is not None and engine.resourced[rows].any():  # resources (§7.22)
        for d, department in enumerate(firms[0].spec.departments):
            columns[f"share_{department.name}"] = stacked(history.shares[..., d])
        columns["unserved_demand"] = stacked(history.unserved_demand)
        columns["capacity_moved"] = stacked(history.capacity_moved)
        columns["budget_binds"] = stacked(history.budget_binds)
    for part in ("impact", "levy"):  # only with [purpose]
        values = getattr(history, part, None)
        if values is not None:
            columns[part] = stacked(values)
    adaptation = engine.adaptation
    if adaptation is not None and adaptation.learning[rows].any():  # strategies that learn
        adopted = adaptation.name_of(rows, history.setting[:, rows].astype(np.int64))
        columns["adopted"] = adopted.T.reshape(-1)
    columns["market_shift"] = np.concatenate(
        [np.array(f.market.shift_labels, dtype=object) for f in firms]
    )
    if any(f.market.changes for f in firms):
        changed = np.full((len(firms), length), "", dtype=object)
        for i, firm in enumerate(firms):
            for change in firm.market.changes:
                if change["strategy"] == firm.strategy_name:
                    changed[i, change["period"]] = change["change"]
        columns["change"] = changed.reshape(-1)
    # one 0/1 column per decision; int8, one byte a period each
    names = decision_names(firms[0].spec)
    for i, name in enumerate(names):
        columns[name] = ((columns["config"] >> i) & 1).astype(np.int8)
    return pd.DataFrame(columns)


def _strategy_columns(scenario: Scenario, name: str, strategy) -> dict:
    return {
        "strategy": name,
        "alpha": float(np.mean(scenario.alpha_of(strategy))),
        "coordination": strategy.coordination,
        "sensing": mean_level(strategy.sensing),
    }


def _collect_population(
    model: Market, population, seed: int, *, periods: bool
) -> tuple[dict, pd.DataFrame | None]:
    """Per-run outcomes of a population: performance before/after the split, forms, entrants."""
    scenario = population.spec
    table = population.period_table()
    split, window = scenario.split, scenario.metrics.window
    norm = table["performance_norm"]
    row = {
        **_strategy_columns(scenario, population.strategy_name, population.strategy),
        "seed": seed,
        "performance_norm_pre_shift": float(norm[max(1, split - window) : split].mean()),
        "performance_norm_post_shift": float(norm[split:].mean()),
        "final_distinct_forms": int(table["distinct_forms"][-1]),
        "entrants": int(table["entrants"].sum()),
    }
    if "imitations" in table:  # with imitation: the firms' copies of another's strategy
        row["imitations"] = int(table["imitations"].sum())
    if not periods:
        return row, None
    frame = pd.DataFrame({"strategy": population.strategy_name, "seed": seed, **table})
    frame["market_shift"] = model.shift_labels
    return row, frame


def _summary(firm) -> dict:
    """A firm's per-run outcomes (see `metrics.summarize_run`)."""
    scenario = firm.spec
    metrics = scenario.metrics
    row = {
        **_strategy_columns(scenario, firm.strategy_name, firm.strategy),
        "seed": firm.market.seed,
        **summarize_run(
            firm.log,
            split=scenario.split,
            window=metrics.window,
            cycle_window=metrics.cycle_window,
            recovery_threshold=metrics.recovery_threshold,
        ),
    }
    adaptation = firm.engine.adaptation
    if adaptation is not None and adaptation.learning[firm.row]:
        row.update(adoption_summary(firm, split=scenario.split))
    return row


def adoption_summary(firm, *, split: int) -> dict:
    """A learning firm's strategies over the run (docs/ODD.md §9.2): how often it switched,
    the strategy it followed at the horizon and the share of periods from ``split`` on it
    followed each of its menu's strategies (over periods open)."""
    engine, row = firm.engine, firm.row
    adaptation, history = engine.adaptation, engine.history
    settings = history.setting[:, row].astype(np.int64)
    alive = history.alive[:, row]
    names = adaptation.rules[adaptation.rule[row]].names
    out: dict = {
        "switches": int(np.count_nonzero(np.diff(settings[alive]))),
        "adopted_final": names[settings[alive][-1]] if alive.any() else "",
    }
    after = settings[split:][alive[split:]]
    for k, name in enumerate(names):
        out[f"share_{name}_post_shift"] = float(np.mean(after == k)) if after.size else np.nan
    if history.imitated is not None:  # with imitation: the reviews at which it copied a firm
        out["imitations"] = int(np.count_nonzero(history.imitated[:, row] >= 0))
    return out


def runs_table(rows: Sequence[dict]) -> pd.DataFrame:
    """Per-run rows (`simulate`) as the runs table (docs/ODD.md section 9.2): ``cycled``, an
    outcome over survivors, is a nullable boolean, NA for a firm that closed."""
    runs = pd.DataFrame(list(rows))
    if "cycled" in runs:
        runs["cycled"] = runs["cycled"].astype("boolean")
    return runs


def run_experiment(
    scenario: Scenario,
    *,
    strategies: Sequence[str] | None = None,
    seeds: int | Iterable[int] | None = None,
    periods: bool = True,
    progress: Callable[[int], None] | None = None,
    changes: Sequence[Change] = (),
) -> ExperimentResult:
    """Every strategy x seed, all seeds stepped together; ``changes`` (`sim.model.Change`) are
    made in every run at their periods; ``progress`` is called with the runs done. ``scenario``
    may be a scenario's name or file (loaded with `sim.scenario.load_scenario`)."""
    scenario = as_scenario(scenario)
    names = check_strategies(scenario, strategies if strategies else None)
    seed_list = resolve_seeds(scenario, seeds)
    result = simulate(
        [(scenario, strategy, seed) for strategy in names for seed in seed_list],
        periods=periods,
        progress=progress,
        changes=changes,
    )
    runs = runs_table(result.rows)
    runs["strategy"] = pd.Categorical(runs["strategy"], categories=list(names))
    period_table = result.periods
    if period_table is not None:
        period_table["strategy"] = pd.Categorical(period_table["strategy"], categories=list(names))
    return ExperimentResult(scenario, names, seed_list, runs, period_table)


#: Names that moved from this module to `sim.stats` in 0.2.0: importing them from here still
#: works, with a DeprecationWarning, until 0.3.0.
_MOVED_TO_STATS = ("summary_table", "mean_ci", "share_ci")


def __getattr__(name: str):
    """The deprecated aliases of `_MOVED_TO_STATS` (PEP 562)."""
    if name in _MOVED_TO_STATS:
        import warnings

        from sim import stats

        warnings.warn(
            f"sim.experiment.{name} moved to sim.stats.{name} in smb-sim 0.2.0; import it from "
            "sim.stats (this alias goes in 0.3.0)",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(stats, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
