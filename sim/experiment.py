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
from functools import lru_cache

import numpy as np
import pandas as pd

from sim.engine import History
from sim.errors import UsageError
from sim.frames import decision_names
from sim.metrics import BOOL_COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, summarize_run
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


#: Per-period columns every table keeps, whatever ``records=`` asks: they say which run and
#: period a row is (with ``[competition]`` also ``firm``, the firm's index in its market).
IDENTITY_COLUMNS = ("strategy", "seed", "period")


def period_fields(scenario: Scenario) -> tuple[str, ...]:
    """The per-period columns a run of ``scenario`` may record besides `IDENTITY_COLUMNS`, in
    the order of its table (docs/ODD.md section 9.1; a population's, section 9.3): what
    ``records=`` may name. A mechanism's columns (understanding, engagement, resources,
    purpose, adopted strategies, imitation) are named where the scenario has the mechanism
    and appear where a run's strategy has it on; ``change`` where live changes are made."""
    if scenario.population.firms > 1:
        names = ["performance", "performance_norm", "best_performance_norm", "distinct_forms"]
        names += ["entrants", "miles"]
        names += ["imitations"] if scenario.adaptation is not None else []
        return (*names, "market_shift")
    departments = [d.name for d in scenario.departments]
    names = [*FLOAT_COLUMNS, *INT_COLUMNS, *BOOL_COLUMNS]
    names += [f"efficiency_{d}" for d in departments]
    if scenario.firm.understanding is not None:
        names += [f"understanding_{d}" for d in departments]
    if scenario.firm.engagement is not None:
        names += [f"engagement_{d}" for d in departments]
    if scenario.resources is not None:
        names += [f"share_{d}" for d in departments]
        names += ["unserved_demand", "capacity_moved", "budget_binds"]
    if scenario.purpose is not None:
        names += ["impact", "levy"]
    if scenario.adaptation is not None:
        names += ["adopted"]
    names += ["market_shift", "change", *decision_names(scenario)]
    if scenario.competition is not None:
        names += ["market_share", "sales"]
        names += ["imitated"] if scenario.adaptation is not None else []
    return tuple(names)


def check_records(
    scenario: Scenario,
    records: Iterable[str] | None,
    *,
    periods: bool = True,
    field: str = "records",
) -> frozenset[str] | None:
    """The per-period fields a caller asks for (`period_fields`; `IDENTITY_COLUMNS` are kept
    anyway), or None for all; a `UsageError` naming ``field``, the field and the allowed ones
    for a name the scenario's table cannot have (or for any, with ``periods`` off)."""
    if records is None:
        return None
    if not periods:
        raise UsageError(
            field, "names per-period fields, and periods is off: set periods=True", records
        )
    if isinstance(records, str):
        records = [records]
    allowed = period_fields(scenario)
    known = {*allowed, *IDENTITY_COLUMNS, *(["firm"] if scenario.competition else [])}
    names = list(records)
    for name in names:
        if not isinstance(name, str) or name not in known:
            raise UsageError(
                field,
                f"no per-period field {name!r} in this scenario's table; allowed: "
                + ", ".join(allowed),
                name,
                f"scenario {scenario.name}",
            )
    return frozenset(names)


def resolve_seeds(scenario: Scenario, seeds: int | Iterable[int] | None) -> tuple[int, ...]:
    """Seeds 0..n-1 for a count (the scenario's `seeds` by default), or the seeds given (a
    `ScenarioError` for anything else, see `sim.scenario.checks.check_seeds`)."""
    return check_seeds(scenario, seeds)


def run_one(
    scenario: Scenario,
    strategy: str,
    seed: int,
    *,
    periods: bool = True,
    records: Iterable[str] | None = None,
) -> tuple[dict, pd.DataFrame | None]:
    """One run: ``strategy`` on ``seed``, to the horizon (the same numbers as in any batch);
    ``scenario`` may be a scenario's name or file; ``records``: the per-period fields kept
    (`check_records`; all by default)."""
    scenario = as_scenario(scenario)
    check_strategies(scenario, [strategy], field="strategy")
    return simulate([(scenario, strategy, check_seed(seed))], periods=periods, records=records)[0]


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
    records: Iterable[str] | None = None,
) -> Simulation:
    """Runs (scenario, strategy, seed) computed in batches; outcomes in the order given.

    Runs whose scenarios have the same decisions, departments and horizon share an engine (up to
    ``batch_rows`` firms at a time); runs on the same seed and market share a `Market`. A
    firm's numbers depend only on its scenario, strategy and seed (`sim.streams`), so the
    result is the same for any batch size and any order of ``runs``. ``changes`` are made in
    every run (to the firms they name) at their periods. With ``stream``, every firm draws
    from the stream of that name instead of its strategy's (common random numbers across
    strategies, e.g. the arms of a decomposition). ``records`` names the per-period fields kept
    (`check_records`: the others are neither built nor returned; all by default).
    """
    keep = _check_records_of(runs, records, periods)
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
                    [runs[i] for i in chunk], periods, changes, stream, keep
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


def _check_records_of(
    runs: Sequence[Run], records: Iterable[str] | None, periods: bool
) -> frozenset[str] | None:
    """``records`` checked against every scenario of ``runs`` (`check_records`)."""
    if records is None:
        return None
    records = [records] if isinstance(records, str) else list(records)
    keep = frozenset(records)
    for scenario in {id(sc): sc for sc, _, _ in runs}.values():
        keep = check_records(scenario, records, periods=periods)
    return keep


def run_markets(
    scenario: Scenario,
    seeds: Iterable[int],
    strategies: Sequence[str] | None = None,
    *,
    batch_rows: int = BATCH_ROWS,
    records: Iterable[str] | None = None,
) -> Iterator[Market]:
    """Markets of ``scenario`` on each seed with a firm (or population) per strategy, run to
    the horizon in batches of at most ``batch_rows`` firms stepped together; yielded in the
    order of ``seeds`` (the same numbers as running each alone); ``scenario`` may be a
    scenario's name or file. ``records`` (populations only): of a population's per-period
    records besides who is where (``config``, ``ids``), those kept: ``performance``,
    ``performance_norm`` (all by default; with neither, a period computes no performance
    but selection's, docs/ODD.md 9.1)."""
    scenario = as_scenario(scenario)
    if records is not None and scenario.population.firms == 1:
        raise UsageError(
            "records",
            "applies to populations (population.firms > 1); a single firm's per-period fields "
            "are kept with run_experiment(records=...)",
            records,
            source="run_markets",
        )
    names = tuple(strategies) if strategies is not None else scenario.compared_strategies
    per_market = max(1, len(names) * scenario.population.firms)
    seeds = list(seeds)
    step = _per_batch(scenario, per_market, batch_rows)
    for start in range(0, len(seeds), step):
        with _collector_paused():
            engine = engine_for(scenario, markets=len(seeds[start : start + step]), records=records)
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
    keep: frozenset[str] | None = None,
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
            _collect_population(a.market, a, a.market.seed, periods=periods, keep=keep)
            for a in owners
        ]
        rows = [row for row, _ in collected]
        frames = [frame for _, frame in collected if frame is not None]
        return rows, pd.concat(frames, ignore_index=True) if frames else None
    rows = [_summary(firm) for firm in owners]
    return rows, _firm_periods(owners, keep) if periods else None


def _firm_periods(firms: Sequence, keep: frozenset[str] | None = None) -> pd.DataFrame:
    """The per-period table of ``firms`` (rows of one engine), one block per firm, in order;
    with ``keep``, `IDENTITY_COLUMNS` and the columns it names only (the others not built)."""
    return pd.DataFrame(_firm_period_columns(firms, keep))


def _firm_period_columns(
    firms: Sequence, keep: frozenset[str] | None = None
) -> dict[str, np.ndarray]:
    """The columns of `_firm_periods`' table, as arrays (``strategy`` and text as objects)."""

    def want(name: str) -> bool:
        return keep is None or name in keep

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
        if want(name):
            columns[name] = stacked(
                path["heading"] if name == "heading" else getattr(history, name)
            )
    for name, values in (
        ("config", history.config),
        ("miles", history.moved),
        ("distance_to_port", history.distance_to_port),
        ("cycle_length", path["cycle_length"]),
        ("alive", history.alive),
        ("in_cycle", path["in_cycle"]),
        ("revisit", path["revisit"]),
    ):
        if want(name):
            columns[name] = stacked(values)
    departments = [d.name for d in firms[0].spec.departments]
    for d, department in enumerate(departments):
        if want(f"efficiency_{department}"):
            columns[f"efficiency_{department}"] = stacked(history.department_efficiency[..., d])
    for part in ("understanding", "engagement"):  # only where the mechanism is on
        values = getattr(history, part)
        if (
            values is not None
            and getattr(engine, "understands" if part == "understanding" else "engaged")[rows].any()
        ):
            for d, department in enumerate(departments):
                if want(f"{part}_{department}"):
                    columns[f"{part}_{department}"] = stacked(values[..., d])
    if history.shares is not None and engine.resourced[rows].any():  # resources (§7.22)
        for d, department in enumerate(departments):
            if want(f"share_{department}"):
                columns[f"share_{department}"] = stacked(history.shares[..., d])
        for name in ("unserved_demand", "capacity_moved", "budget_binds"):
            if want(name):
                columns[name] = stacked(getattr(history, name))
    for part in ("impact", "levy"):  # only with [purpose]
        values = getattr(history, part, None)
        if values is not None and want(part):
            columns[part] = stacked(values)
    adaptation = engine.adaptation
    if (
        adaptation is not None and adaptation.learning[rows].any() and want("adopted")
    ):  # strategies that learn
        adopted = adaptation.name_of(rows, history.setting[:, rows].astype(np.int64))
        columns["adopted"] = adopted.T.reshape(-1)
    if want("market_shift"):
        columns["market_shift"] = np.concatenate(
            [np.array(f.market.shift_labels, dtype=object) for f in firms]
        )
    if any(f.market.changes for f in firms) and want("change"):
        changed = np.full((len(firms), length), "", dtype=object)
        for i, firm in enumerate(firms):
            for change in firm.market.changes:
                if change["strategy"] == firm.strategy_name:
                    changed[i, change["period"]] = change["change"]
        columns["change"] = changed.reshape(-1)
    # one 0/1 column per decision; int8, one byte a period each
    names = decision_names(firms[0].spec)
    wanted = [(i, name) for i, name in enumerate(names) if want(name)]
    configs = columns["config"] if "config" in columns else stacked(history.config)
    for i, name in wanted:
        columns[name] = ((configs >> i) & 1).astype(np.int8)
    return columns


@lru_cache(maxsize=256)  # a strategy's alphas: the same in every run
def _mean_of(values: tuple[float, ...]) -> float:
    """``np.mean`` of ``values``, once per tuple of values."""
    return float(np.mean(values))


def _strategy_columns(scenario: Scenario, name: str, strategy) -> dict:
    return {
        "strategy": name,
        "alpha": _mean_of(scenario.alpha_of(strategy)),
        "coordination": strategy.coordination,
        "sensing": mean_level(strategy.sensing),
    }


def _collect_population(
    model: Market, population, seed: int, *, periods: bool, keep: frozenset[str] | None = None
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
    if keep is not None:
        frame = frame[[c for c in frame.columns if c in IDENTITY_COLUMNS or c in keep]]
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
    records: Iterable[str] | None = None,
) -> ExperimentResult:
    """Every strategy x seed, all seeds stepped together; ``changes`` (`sim.model.Change`) are
    made in every run at their periods; ``progress`` is called with the runs done. ``scenario``
    may be a scenario's name or file (loaded with `sim.scenario.load_scenario`). ``records``:
    the per-period fields ``periods`` keeps besides `IDENTITY_COLUMNS` (`period_fields` lists
    them; all by default): the others are not built, which saves time and memory."""
    scenario = as_scenario(scenario)
    names = check_strategies(scenario, strategies if strategies else None)
    seed_list = resolve_seeds(scenario, seeds)
    result = simulate(
        [(scenario, strategy, seed) for strategy in names for seed in seed_list],
        periods=periods,
        progress=progress,
        changes=changes,
        records=records,
    )
    runs = runs_table(result.rows)
    runs["strategy"] = pd.Categorical(runs["strategy"], categories=list(names))
    period_table = result.periods
    if period_table is not None:  # (each run's rows hold its strategy: codes, not a search)
        lengths = [stop - start for start, stop in result.spans]
        codes = np.repeat(np.repeat(np.arange(len(names)), len(seed_list)), lengths)
        period_table["strategy"] = pd.Categorical.from_codes(codes, categories=list(names))
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
