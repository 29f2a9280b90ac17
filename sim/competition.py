"""Experiments on markets of competing firms (`[competition]`, docs/ODD.md section 7.18).

One market per seed holds the scenario's whole mix of firms and its waiting entrants; the
markets of a batch are rows of one engine, stepped together. The result has a row per firm
(`runs`: per-run outcomes of every incumbent and entrant), optionally a row per firm per period
(`periods`), and a row per market per period (`markets`: firms in business, entries, exits,
concentration, industry profit, each strategy's share). `format_competition` is what
`python -m sim run` prints for such a scenario: estimates over markets (seeds), each market
counting once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from sim.demand import herfindahl
from sim.experiment import (
    BATCH_ROWS,
    ExperimentResult,
    _collector_paused,
    _firm_period_columns,
    _per_batch,
    _summary,
    check_records,
    resolve_seeds,
)
from sim.model import Market, engine_for, step_together
from sim.scenario.errors import UnknownStrategy
from sim.scenario.schema import Scenario, StrategySpec
from sim.stats import cluster_mean_ci, format_estimate, mean_ci


def firms_per_market(scenario: Scenario) -> int:
    """Rows a market of the scenario holds: its incumbents and its waiting entrants."""
    competition = scenario.competition
    return sum(competition.firms.values()) + sum(competition.entrants.values())


def run_competition(
    scenario: Scenario,
    *,
    seeds: int | Iterable[int] | None = None,
    periods: bool = True,
    progress: Callable[[int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
    focal: tuple[str, StrategySpec] | None = None,
    records: Iterable[str] | None = None,
) -> ExperimentResult:
    """Every seed's market of competing firms, to the horizon, in batches stepped together;
    ``progress`` is called with the firms done. The same numbers for any batch size.
    ``focal`` = (a strategy of the mix, a spec): its first incumbent follows the spec instead
    (`sim.model.Market`). ``records``: the per-period fields ``periods`` keeps besides
    `sim.experiment.IDENTITY_COLUMNS` and ``firm`` (`sim.experiment.period_fields`; all by
    default): the others are not built, which saves memory in large markets."""
    if scenario.competition is None:
        raise ValueError(f"scenario {scenario.name} has no [competition]")
    keep = check_records(scenario, records, periods=periods)
    seed_list = resolve_seeds(scenario, seeds)
    names = scenario.compared_strategies
    per_batch = _per_batch(scenario, firms_per_market(scenario), batch_rows)
    length = firms_per_market(scenario) * (scenario.horizon + 1)  # per-period rows a market
    table = _PeriodColumns(len(seed_list) * length, names) if periods else None
    runs, markets = [], []
    for start in range(0, len(seed_list), per_batch):
        chunk = seed_list[start : start + per_batch]
        with _collector_paused():
            engine = engine_for(scenario, markets=len(chunk))
            batch = [
                Market(scenario=scenario, rng=seed, engine=engine, focal=focal) for seed in chunk
            ]
            step_together(batch)
            firms = [f for market in batch for f in market.rivals]
            runs += [_firm_row(f) for f in firms]
            markets.append(market_table(batch))
            if table is not None:
                table.add(_firm_columns(firms, keep))
            done = len(firms)
            del engine, batch, firms  # freed before the next batch's engine is built
        if progress is not None:
            progress(done)
    runs_table = pd.DataFrame(runs)
    del runs
    runs_table["strategy"] = pd.Categorical(runs_table["strategy"], categories=list(names))
    period_table = table.frame() if table is not None else None
    market_periods = pd.concat(markets, ignore_index=True)
    return ExperimentResult(scenario, names, seed_list, runs_table, period_table, market_periods)


def simulate_runs(
    runs: Sequence[tuple[Scenario, str, int]], *, periods: bool = False
) -> list[tuple[dict, None]]:
    """Runs (scenario, strategy, seed) of scenarios with ``[competition]``, for sweeps: one
    market per scenario and seed holds the whole mix (runs of different strategies on it share
    it, as their firms share its customers); a run's row is its strategy's incumbents in that
    market, averaged (numbers only: a learning firm's `adopted_final` is left out, its
    `share_<name>_post_shift` kept; ``survived`` becomes the share of them open at the end;
    ``incumbents`` their count), with the market's own outcomes (`market_runs`: HHI, outside
    share, industry profit, each strategy's share, entries, exits, firms at the end). Per-period
    tables are not recorded this way (``periods`` must be False)."""
    if periods:
        raise ValueError(
            "markets of competing firms record per-period tables with run_competition only; "
            "set periods off (a sweep's [outputs] periods = false)"
        )
    scenarios = {id(sc): sc for sc, _, _ in runs}
    results: dict[tuple[int, int], tuple[pd.DataFrame, dict]] = {}
    for sc_id, scenario in scenarios.items():
        if scenario.competition is None:
            raise ValueError(f"scenario {scenario.name} has no [competition]")
        seeds = sorted({seed for sc, _, seed in runs if id(sc) == sc_id})
        result = run_competition(scenario, seeds=seeds, periods=False)
        markets = market_runs(result).set_index("seed")
        for seed, firms in result.runs.groupby("seed", sort=False):
            results[(sc_id, int(seed))] = (firms, markets.loc[seed].to_dict())
    out = []
    for scenario, strategy, seed in runs:
        if strategy not in scenario.competition.firms:
            raise UnknownStrategy(
                f"scenario {scenario.name}",
                "competition.firms",
                f"no incumbent follows {strategy!r}; "
                f"allowed: {', '.join(scenario.competition.firms)}",
            )
        firms, market = results[(id(scenario), int(seed))]
        own = firms[(firms["strategy"] == strategy) & ~firms["entrant"]]
        text = ["strategy", "coordination", "seed", "firm", "entrant", "adopted_final"]
        numbers = own.drop(columns=[c for c in text if c in own])
        row = {
            **{k: v for k, v in own.iloc[0].items() if k in ("strategy", "coordination")},
            "seed": int(seed),
            **numbers.astype(float).mean().to_dict(),
            "incumbents": len(own),
            **{f"market_{k}": v for k, v in market.items()},
        }
        row["strategy"] = strategy
        out.append((row, None))
    return out


def _firm_row(firm) -> dict:
    """A competing firm's per-run outcomes: `summarize_run`'s, its index, whether it is an
    entrant and when it entered (-1: never), and its mean market share and sales over the
    windows before and after the split (periods in business)."""
    h = firm.engine.history
    alive = h.alive[:, firm.row]
    scenario = firm.spec
    split, window = scenario.split, scenario.metrics.window
    pre, post = slice(max(1, split - window), split), slice(split, None)
    incumbent = firm.index < scenario.competition.firms.get(firm.strategy_name, 0)
    row = {
        **_summary(firm),
        "firm": firm.index,
        "entrant": not incumbent,
        "entered": 0 if incumbent else (int(np.argmax(alive)) if alive.any() else -1),
    }
    for name, values in (("market_share", h.market_share), ("sales", h.sales)):
        column = values[:, firm.row]
        for part, window_ in (("pre_shift", pre), ("post_shift", post)):
            x = column[window_]
            x = x[~np.isnan(x)]
            row[f"{name}_{part}"] = float(x.mean()) if x.size else float("nan")
    return row


def _firm_columns(firms: list, keep: frozenset[str] | None = None) -> dict[str, np.ndarray]:
    """The per-period columns of competing firms: the usual ones, then the firm's index, its
    market share and its sales (with ``keep``, those it names only; the index always)."""
    usual = _firm_period_columns(firms, keep)
    h, length = firms[0].engine.history, firms[0].engine.horizon + 1
    rows = np.array([f.row for f in firms])
    identity = list(usual)[:2]  # strategy, seed; then the firm, then the rest (period, ...)
    columns = {name: usual.pop(name) for name in identity}
    columns["firm"] = np.repeat([f.index for f in firms], length)
    columns.update(usual)
    for name in ("market_share", "sales"):
        if keep is None or name in keep:
            columns[name] = getattr(h, name)[:, rows].T.reshape(-1)
    # with imitation: the firm copied ("strategy index"; "": none)
    if h.imitated is not None and (keep is None or "imitated" in keep):
        label = {f.row: f"{f.strategy_name} {f.index}" for f in firms}
        label[-1] = ""
        imitated = h.imitated[:, rows].T.reshape(-1).tolist()
        columns["imitated"] = np.array([label[r] for r in imitated], dtype=object)
    return columns


class _PeriodColumns:
    """The per-period table of competing firms filled batch by batch into columns allocated
    once for all its rows (``strategy`` as category codes), and made a DataFrame at the end
    without a copy: the table is held once, not as per-batch frames plus their concatenation
    (issue 22: a market of 1,000 firms x 100 seeds, 16.1 million rows, within 4 GB). The same
    table, value for value and type for type, as concatenating per-batch frames. A batch whose
    columns differ from the first's (not expected: every market holds the same mix) is kept as
    a frame of its own and concatenated at the end, as before."""

    def __init__(self, rows: int, strategies: Sequence[str]) -> None:
        self.rows, self.filled = rows, 0
        self.categories = list(strategies)
        self.columns: dict[str, np.ndarray] | None = None
        self.others: list[pd.DataFrame] = []

    def add(self, columns: dict[str, np.ndarray]) -> None:
        """Append one batch's columns (`_firm_columns`)."""
        strategy = pd.Categorical(columns["strategy"], categories=self.categories)
        columns = {**columns, "strategy": strategy.codes}
        n = len(columns["strategy"])
        if self.columns is None and not self.others:
            self.columns = {k: np.empty(self.rows, dtype=v.dtype) for k, v in columns.items()}
        fits = (
            self.columns is not None
            and not self.others
            and self.filled + n <= self.rows
            and [(k, v.dtype) for k, v in columns.items()]
            == [(k, v.dtype) for k, v in self.columns.items()]
        )
        if not fits:
            columns["strategy"] = strategy
            self.others.append(pd.DataFrame(columns))
            return
        for name, values in columns.items():
            self.columns[name][self.filled : self.filled + n] = values
        self.filled += n

    def frame(self) -> pd.DataFrame:
        """The table; the columns are handed over (this object is empty afterwards)."""
        frames = []
        if self.columns is not None:
            columns = {k: v[: self.filled] for k, v in self.columns.items()}
            self.columns = None
            columns["strategy"] = pd.Categorical.from_codes(
                columns["strategy"], categories=self.categories
            )
            frames.append(pd.DataFrame(columns, copy=False))
            del columns
        frames += self.others
        self.others = []
        if len(frames) == 1:
            return frames[0]
        table = pd.concat(frames, ignore_index=True)
        table["strategy"] = pd.Categorical(table["strategy"], categories=self.categories)
        return table


def market_table(markets: list[Market]) -> pd.DataFrame:
    """Per market (seed) and period: firms in business, entries and exits in the period, the
    Herfindahl-Hirschman index of the shares of customers who buy from a firm, the outside
    option's share, industry profit (sum over the firms in business) and each strategy's total
    share (its firms' shares summed; 0 if none is in business)."""
    engine = markets[0].engine
    h = engine.history
    names = markets[0].spec.compared_strategies
    frames = []
    for market in markets:
        rows = np.array([f.row for f in market.rivals])
        alive = h.alive[:, rows]
        share = np.where(alive, h.market_share[:, rows], 0.0)
        before = np.vstack([np.zeros((1, rows.size), dtype=bool), alive[:-1]])
        periods = alive.shape[0]
        hhi = herfindahl(
            share.reshape(-1), np.repeat(np.arange(periods), rows.size), periods
        )  # one "market" per period
        columns = {
            "seed": market.seed,
            "period": np.arange(periods),
            "firms": alive.sum(axis=1),
            "entries": (alive & ~before).sum(axis=1) * (np.arange(periods) > 0),
            "exits": (before & ~alive).sum(axis=1),
            "hhi": hhi,
            "outside_share": 1.0 - share.sum(axis=1),
            "industry_profit": np.where(alive, h.profit[:, rows], 0.0).sum(axis=1),
        }
        strategy = np.array([f.strategy_name for f in market.rivals])
        for name in names:
            columns[f"share_{name}"] = share[:, strategy == name].sum(axis=1)
        columns["market_shift"] = market.shift_labels
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)


def market_runs(result: ExperimentResult) -> pd.DataFrame:
    """Per market (seed): means of the market table before and after the split (firms, HHI,
    outside share, industry profit, each strategy's share), entries and exits over the run,
    firms in business at the end."""
    scenario = result.scenario
    split, window = scenario.split, scenario.metrics.window
    table = result.markets
    out = []
    for seed, m in table.groupby("seed", sort=False):
        pre = m[(m["period"] >= max(1, split - window)) & (m["period"] < split)]
        post = m[m["period"] >= split]
        row = {"seed": seed, "entries": int(m["entries"].sum()), "exits": int(m["exits"].sum())}
        row["firms_end"] = int(m["firms"].iloc[-1])
        measures = ["firms", "hhi", "outside_share", "industry_profit"]
        measures += [c for c in m.columns if c.startswith("share_")]
        for column in measures:
            row[f"{column}_pre_shift"] = float(pre[column].mean())
            row[f"{column}_post_shift"] = float(post[column].mean())
        out.append(row)
    return pd.DataFrame(out)


def _estimate(values, **kwargs) -> str:
    bounds = (0.0, 1.0) if kwargs.get("percent") else (-np.inf, np.inf)
    return format_estimate(*mean_ci(np.asarray(values, dtype=float), bounds=bounds), **kwargs)


def format_competition(result: ExperimentResult) -> str:
    """What `python -m sim run` prints for a market of competing firms: the market's shares,
    concentration, entries and exits, and each strategy's profit per firm, before and after the
    split; every figure a mean over markets (seeds) with a 95% t interval, a market counting
    once (firms of one market are not independent)."""
    scenario = result.scenario
    competition = scenario.competition
    markets = market_runs(result)
    runs = result.runs
    mix = ", ".join(f"{n} {k}" for k, n in competition.firms.items())
    waiting = ", ".join(f"{n} {k}" for k, n in competition.entrants.items() if n)
    unit = scenario.money_unit
    lines = [
        f"{scenario.name}: a market of competing firms ({mix}"
        + (f"; up to {waiting} may enter, each with chance {competition.entry_rate:g} a period"
           if waiting else "")
        + f"), {len(result.seeds)} markets (seeds); before = the window before period "
        f"{scenario.split}, after = from period {scenario.split} on; mean over markets "
        "[95% CI], each market counting once",
        "",
        "The market                              before                after",
    ]  # fmt: skip
    rows = [
        ("firms in business", "firms", {}),
        ("concentration (HHI, 1/n to 1)", "hhi", {}),
        ("customers buying elsewhere (share)", "outside_share", {"percent": True}),
        (f"industry profit ({unit})", "industry_profit", {}),
    ]
    rows += [
        (f"market share of {name}", f"share_{name}", {"percent": True})
        for name in result.strategies
    ]
    for label, column, options in rows:
        before = _estimate(markets[f"{column}_pre_shift"], **options)
        after = _estimate(markets[f"{column}_post_shift"], **options)
        lines.append(f"  {label:<38}{before:<22}{after}")
    lines.append(
        f"  entries over the run: {_estimate(markets['entries'])}; exits over the run: "
        f"{_estimate(markets['exits'])}; firms in business at the end: "
        f"{_estimate(markets['firms_end'])}"
    )
    lines += ["", f"Per firm, by strategy (incumbents; profit in {unit}, a closed firm earns 0)"]
    incumbents = runs[~runs["entrant"]]
    header = f"  {'':<34}" + "".join(f"{name:<26}" for name in result.strategies)
    lines.append(header)
    measures = [
        ("profit before", "profit_pre_shift", {}),
        ("profit after", "profit_post_shift", {}),
        ("market share after (while open)", "market_share_post_shift", {"percent": True}),
        ("survived to the end", "survived", {"percent": True}),
    ]
    for label, column, options in measures:
        cells = []
        for name in result.strategies:
            group = incumbents[incumbents["strategy"] == name]
            if group.empty:
                cells.append("n/a")
                continue
            bounds = (0.0, 1.0) if options else (-np.inf, np.inf)
            mean, low, high, _ = cluster_mean_ci(
                group[column].astype(float), group["seed"], bounds=bounds
            )
            cells.append(format_estimate(mean, low, high, **options))
        lines.append(f"  {label:<34}" + "".join(f"{c:<26}" for c in cells))
    entrants = runs[runs["entrant"] & (runs["entered"] > 0)]
    if runs["entrant"].any():
        cells = []
        for name in result.strategies:
            came = entrants[entrants["strategy"] == name]
            if came.empty:
                cells.append("none entered")
                continue
            mean, low, high, _ = cluster_mean_ci(
                came["survived"].astype(float), came["seed"], bounds=(0.0, 1.0)
            )
            cells.append(f"{len(came)} in; " + format_estimate(mean, low, high, percent=True))
        lines.append(f"  {'entrants: entered; survived':<34}" + "".join(f"{c:<26}" for c in cells))
    names = list(result.strategies)
    if len(names) >= 2:
        a, b = names[-1], names[0]
        per_market = incumbents.groupby(["seed", "strategy"], observed=True)["profit_post_shift"]
        wide = per_market.mean().unstack()
        if a in wide and b in wide:
            diff = (wide[a] - wide[b]).dropna()
            lines.append(
                f"\n  profit after, {a} minus {b}, per incumbent, paired by market: "
                f"{_estimate(diff)} {unit} ({diff.size} markets)"
            )
    return "\n".join(lines)
