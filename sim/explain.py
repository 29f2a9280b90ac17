"""A scenario in plain words, without running it (`python -m sim explain SCENARIO`)."""

from __future__ import annotations

import numpy as np

from sim.environment import efficiency_edges, environment_rng
from sim.landscape import department_links
from sim.limits import TABULATED_DECISIONS
from sim.purpose import impact_range
from sim.scenario.checks import check_seed
from sim.scenario.load import as_scenario
from sim.scenario.schema import (
    AbruptShift,
    EffectSpec,
    GradualShift,
    RedrawShift,
    Scenario,
    TurbulenceShift,
    effect_decision,
)
from sim.settings import coordination_cost


def _words(name: str) -> str:
    return name.replace("_", " ")


def describe_shift(shift) -> str:
    """One shift of the schedule in words."""
    if isinstance(shift, AbruptShift):
        return f"period {shift.at}: customers move to {shift.to} at once"
    if isinstance(shift, GradualShift):
        return f"from period {shift.at}: customers move to {shift.to} over {shift.duration} periods"
    if isinstance(shift, RedrawShift):
        which = ", ".join(shift.decisions) if shift.decisions else f"{shift.count} at random"
        return f"period {shift.at}: what customers value in {which} changes"
    assert isinstance(shift, TurbulenceShift)
    end = "the horizon" if shift.end is None else f"period {shift.end}"
    chance = f"with probability {shift.probability:g} each period from {shift.start} to {end}"
    if shift.change == "redraw":
        return f"turbulence {chance}: {shift.count} rugged table(s) redrawn"
    if shift.to is not None:
        return f"turbulence {chance}: customers move to {shift.to}"
    if shift.targets is not None:
        weights = ", ".join(f"{r} ({w:g})" for r, w in shift.targets.items())
        return f"turbulence {chance}: customers move to one of {weights}"
    if shift.transitions is not None:
        rows = "; ".join(
            f"{source} -> " + (", ".join(f"{r} ({w:g})" for r, w in row.items()) or "absorbing")
            for source, row in shift.transitions.items()
        )
        return f"turbulence {chance}: customers move by {rows} (other regimes absorbing)"
    return f"turbulence {chance}: customers move to another regime at random"


def _purpose(sc: Scenario) -> list[str]:
    """Purpose (`[purpose]`) in words: the impact table, who values it, the levy; and what
    sensing by department means where a compared strategy has it."""
    lines = []
    if any(isinstance(sc.strategy(n).sensing, dict) for n in sc.compared_strategies):
        lines.append(
            "Sensing by department: where a strategy gives one sensing rate per department, "
            "each department keeps a belief of its own about what customers want, sensed at "
            "its rate, and the head office's belief is their mean weighted by department size"
        )
    p = sc.purpose
    if p is None:
        return lines
    low, high = impact_range(sc)
    parts = ", ".join(f"{_words(d)} {a:+g}" for d, a in p.impact.items())
    lines.append(
        f"Purpose: {p.name} ({p.unit}) is {p.base:g} plus, for each decision that is on, "
        f"{parts}: from {low:g} to {high:g} across configurations"
    )
    if p.valued_by:
        valued = ", ".join(f"{r} (weight {w:g})" for r, w in p.valued_by.items())
        lines.append(f"  customers who count a low impact among their wishes: {valued}")
    if p.levy:
        lines.append(
            f"  regulation levies {p.levy:g} {sc.money_unit} per unit above {p.threshold:g}"
        )
    weighed = [n for n in sc.compared_strategies if sc.strategy(n).purpose]
    lines.append(
        "  strategies that weigh it: "
        + (", ".join(f"{n} ({sc.strategy(n).purpose:g})" for n in weighed) or "none")
        + "; a weight w aims for (1 - w) x perceived performance + w x (1 - normalised impact)"
    )
    return lines


def _rate(sc: Scenario, value) -> str:
    """A strategy's rate: a number, or a table by department ("customer_service 0.8 / ...",
    each department keeping a belief or an understanding of its own)."""
    if not isinstance(value, dict):
        return f"{value:g}"
    pairs = zip(sc.departments, sc.per_department(value), strict=True)
    return "/".join(f"{d.name} {v:g}" for d, v in pairs)


def _levels(sc: Scenario, value) -> str:
    levels = sc.per_department(value)
    if len(set(levels)) == 1:
        return f"{levels[0]:g} in every department"
    return ", ".join(f"{d.name} {v:g}" for d, v in zip(sc.departments, levels, strict=True))


def _people(sc: Scenario) -> list[str]:
    """The people mechanisms in words (none: everybody understands and is fully engaged)."""
    firm = sc.firm
    lines = []
    if firm.understanding is not None:
        u = firm.understanding
        lines.append(
            f"Strategic understanding: {_levels(sc, u.initial)} at the start; the coupling that "
            f"acts is alpha x understanding; {u.forgetting:g} of it forgotten per period; "
            "communication closes its rate of the gap"
        )
    if firm.engagement is not None:
        e = firm.engagement
        search = "scales the alternatives examined" if e.drives_search else "does not drive search"
        lines.append(
            f"Engagement: {_levels(sc, e.initial)} at the start; a change without purpose erodes "
            f"{_rate(sc, e.erosion)} of it, purpose and stability recover {e.recovery:g} of the "
            f"gap; it {search}; turnover {_rate(sc, e.turnover)} x (1 - engagement) per period"
        )
    if not lines:
        lines.append("People: everybody understands the strategy and is fully engaged (off)")
    return lines


def describe_effect(effect: EffectSpec, scenario: Scenario) -> str:
    """What a designed effect does, in words: its conditions and its changes."""
    owner = {
        i: d.label or d.name
        for d, dec in zip(scenario.departments, scenario.department_decisions, strict=True)
        for i in dec
    }

    def condition(key: str, value: int) -> str:
        i = effect_decision(scenario, key)
        return f"{scenario.decisions[i]} = {value} ({owner[i]})"

    text = "when " + " and ".join(condition(k, v) for k, v in effect.when.items())
    if effect.unless:
        text += ", unless " + " or ".join(condition(k, v) for k, v in effect.unless.items())
    labels = {d.name: d.label or d.name for d in scenario.departments}
    changes = []
    if effect.efficiency:
        changes.append(
            "efficiency " + ", ".join(f"{labels[d]} {a:+g}" for d, a in effect.efficiency.items())
        )
    for regime, table in effect.efficiency_by_regime.items():
        changes.append(
            f"efficiency while customers are in {regime} "
            + ", ".join(f"{labels[d]} {a:+g}" for d, a in table.items())
        )
    if effect.market_value:
        changes.append(
            "market value " + ", ".join(f"{a:+g} in {r}" for r, a in effect.market_value.items())
        )
    return f"{text}: {'; '.join(changes)}"


def describe_competition(sc: Scenario) -> list[str]:
    """The market of competing firms in words: the mix, the choice model with a worked
    example, what a firm earns, exit and entry (none without `[competition]`)."""
    c = sc.competition
    if c is None:
        return []
    mix = ", ".join(f"{n} {name}" for name, n in c.firms.items())
    lam = c.sensitivity
    outside = (
        f"customers may buy elsewhere (the outside option, worth V_0 = {c.outside_value:g})"
        if c.outside
        else "every customer buys from one of the firms (no outside option)"
    )
    lines = [
        "",
        f"Competition: {sum(c.firms.values())} firms share the market's customers ({mix}).",
        f"  Customers choose by a logit of market values, lambda = {lam:g}: a firm whose market "
        f"value is 0.1 higher draws {np.exp(0.1 * lam):.2f} times the customers of an otherwise "
        f"equal rival; {outside}.",
        "  share s_j = exp(lambda V_j) / (" + ("exp(lambda V_0) + " if c.outside else "")
        + "sum_k exp(lambda V_k)); firms at the same market value split the customers they "
        "would draw alone (crowding).",
        f"  A firm sells market size ({c.market_size:g} firms' markets) x s_j x V_j, which "
        "replaces its market value in what it earns; its departments still decide without "
        "looking at rivals.",
        "  A firm whose cash runs out closes; its customers go to the others and the outside "
        "option.",
    ]  # fmt: skip
    waiting = {name: n for name, n in c.entrants.items() if n}
    if waiting and c.entry_rate > 0:
        who = ", ".join(f"up to {n} {name}" for name, n in waiting.items())
        start = (
            "at the set-up of the firm with the largest share last period"
            if c.entry_start == "leader"
            else "at a random set-up"
        )
        lines.append(
            f"  Entry: {who}; each period, for each kind with entrants waiting, one enters with "
            f"chance {c.entry_rate:g} (about one every {1 / c.entry_rate:.0f} periods), {start}."
        )
    else:
        lines.append("  Entry: none (no entrants waiting).")
    lines.append(describe_network(sc))
    return lines


def describe_resources(sc: Scenario) -> list[str]:
    """The budget split across departments in words: the split, what it does to efficiency and
    demand served, who moves it, its costs and when it binds (none without `[resources]`)."""
    res = sc.resources
    if res is None:
        return []
    names = [d.name for d in sc.departments]
    shares = (
        {n: 1.0 / len(names) for n in names} if res.shares is None else dict(res.shares)
    )
    unit = sc.money_unit
    rules = {
        "keep": "keeps the split",
        "efficiency": "moves it towards its departments' efficiencies (silos grab)",
        "market": "moves it towards the demand it believes in (a head office)",
    }
    lines = [
        "",
        "Resources: one budget per period split across the departments; at the start "
        + ", ".join(f"{n} {shares[n]:g}" for n in names) + ".",
        f"  A department's efficiency is multiplied by (D x share)^{res.returns:g} (1 at an "
        f"equal split; twice the equal share: x{2 ** res.returns:.2f}), kept within [0, 1].",
        "  Demand per regime, in units of the budget (a department serves min(share, demand); "
        "market value is multiplied by the share of demand served of what the budget could "
        "serve at best):",
    ]
    for regime in sc.market.regimes:
        table = res.demand[regime.name]
        total = sum(table.values())
        lines.append(
            f"    {regime.name}: "
            + ", ".join(f"{n} {table.get(n, 0.0):g}" for n in names)
            + f" (total {total:g}" + (", more than the budget" if total > 1 else "") + ")"
        )
    for mode in sorted({sc.strategy(n).coordination for n in sc.compared_strategies}):
        lines.append(f"  Under {mode} coordination the firm {rules[res.reallocation[mode]]}.")
    lines += [
        f"  At most {res.max_move:g} of the budget moves in a period; moving costs "
        f"{res.moving_cost:g} {unit} per whole budget moved; capacity in use costs "
        f"{res.activity_cost:g} {unit} at full use.",
        *(
            ["  Below its equal share a department examines that much fewer alternatives."]
            if res.scales_search
            else []
        ),
        f"  The budget binds in a period when more than {res.tolerance:g} of demand is turned "
        "away or the move limit cuts the reallocation short (runs table: budget_binds_share).",
    ]  # fmt: skip
    return lines


def describe_network(sc: Scenario) -> str:
    """The partners among a market's competing firms in one line (`[competition.network]`)."""
    network = sc.competition.network
    if network is None or network.kind == "none":
        return "  Partners: none (no firm shares market information with another)."
    c = sc.competition
    names = [name for part in (c.firms, c.entrants) for name, n in part.items() for _ in range(n)]
    total = len(names)
    links = {
        "complete": f"every firm is linked with every other ({total * (total - 1) // 2} links)",
        "ring": "each firm is linked with the one before and the one after it, in a ring",
        "random": f"each pair of firms is linked with chance {network.density:g}, drawn per "
        f"market (about {network.density * total * (total - 1) / 2:.1f} links)",
        "edges": "the listed pairs are linked: "
        + ", ".join(f"{i} ({names[i]}) with {j} ({names[j]})" for i, j in network.edges),
    }[network.kind]
    return (
        f"  Partners: {links} (firms numbered 0 to {total - 1}: the firms, then the entrants, "
        f"in order). Each period, after its own sensing, a firm's picture of the market moves "
        f"{network.information_sharing:.0%} of the way towards the mean picture of its partners "
        "in business."
    )


def explain(scenario: Scenario, *, seed: int = 0) -> str:
    """The scenario's decisions by department, interaction structure, designed effects, regimes
    and what each wants, shifts, strategies and their costs; ``seed`` draws one interaction
    structure. ``scenario`` may be a scenario's name or file."""
    sc = as_scenario(scenario)
    check_seed(seed)
    lines = [sc.title or _words(sc.name), ""]
    if sc.expected.strip():
        lines += ["Expected (written before the first run):", sc.expected.strip(), ""]
    lines.append(f"Decisions ({len(sc.decisions)}), by the department that owns them:")
    for dep in sc.departments:
        lines.append(f"  {dep.label or dep.name}: {', '.join(dep.decisions)}")
    if len(sc.decisions) > TABULATED_DECISIONS:
        lines.append(
            f"  {len(sc.decisions)} decisions: 2^{len(sc.decisions)} configurations are not "
            "enumerated; the landscapes are evaluated on demand and the best configuration "
            f"(the port, distances to it, normalised performance) is an estimate, the best of "
            f"{sc.metrics.port_restarts} local searches (metrics.port_restarts; during a "
            "gradual shift, followed by one climb from the last port each period)"
        )

    eff = sc.efficiency
    lines += ["", f"Efficiency landscape (NK): structure {eff.structure}"]
    if eff.structure in ("random", "next_k"):
        lines[-1] += f", K = {eff.k} dependencies per decision"
    else:
        lines[-1] += f", {eff.k_within} within the department, {eff.cross} across departments"
    edges = efficiency_edges(sc, environment_rng(seed))
    links = department_links(sc.department_decisions, edges)
    names = [d.label or d.name for d in sc.departments]
    pairs = [f"{names[a]} - {names[b]} ({w})" for (a, b), w in links.items()]
    lines.append(
        f"  cross-department dependencies on seed {seed} (each seed draws its own): "
        + ("; ".join(pairs) if pairs else "none")
    )

    if sc.effects:
        lines += [
            "",
            "Designed effects (added to the random landscapes; each efficiency and preference "
            "fit kept within [0, 1]):",
        ]
        for effect in sc.effects:
            if effect.description:
                lines.append(f"  {effect.description}")
            lines.append(("    " if effect.description else "  ") + describe_effect(effect, sc))

    market = sc.market
    lines += [
        "",
        f"Market value: {1 - market.rho:g} preferences + {market.rho:g} rugged part "
        f"(K = {market.k}, {market.structure}); performance = {sc.firm.beta:g} market value + "
        f"{1 - sc.firm.beta:g} efficiency",
        "Regimes (what customers want; the best configuration for them sets exactly these"
        + (", designed effects aside" if any(e.market_value for e in sc.effects) else "")
        + "):",
    ]
    for regime in market.regimes:
        start = " (at the start)" if regime.name == sc.initial_regime else ""
        wants = ", ".join(
            f"{p.decision} = {p.value}" + (f" (weight {p.weight:g})" if p.weight != 1 else "")
            for p in regime.preferences
        )
        lines.append(f"  {regime.name}{start}: {wants}")
        if regime.description:
            lines.append(f"    {regime.description}")
    lines.append("Shifts:")
    lines += [f"  {describe_shift(s)}" for s in market.shifts] or ["  none: a stable market"]

    unit = sc.money_unit
    lines += ["", f"Strategies (compared: {', '.join(sc.compared_strategies)}):"]
    for name in sc.compared_strategies:
        spec = sc.strategy(name)
        alphas = sc.alpha_of(spec)
        alpha = f"{alphas[0]:g}" if len(set(alphas)) == 1 else "/".join(f"{a:g}" for a in alphas)
        cost = coordination_cost(spec, sc.costs, alphas)
        examined = f", examines {spec.alternatives} alternative(s)" if spec.alternatives else ""
        talk = f", communication {_rate(sc, spec.communication)}" if spec.communication else ""
        talk += f", purpose weight {spec.purpose:g}" if spec.purpose else ""
        lines.append(
            f"  {name}: alpha {alpha}, {spec.coordination}, sensing {_rate(sc, spec.sensing)}, "
            f"p_jump {spec.p_jump:g}, {spec.proposals} proposal(s), {spec.search} search"
            f"{examined}{talk}; costs {cost:g} {unit}"
        )
    costs = sc.costs
    modes = ", ".join(f"{m} {c:g}" for m, c in costs.coordination.items())
    lines += [
        f"Costs ({unit}): coordination {modes}; alignment {costs.alignment:g} at alpha 1; "
        f"sensing {costs.sensing:g} at rate 1; communication {costs.communication:g} at rate 1",
    ]
    lines += _people(sc)
    lines += _purpose(sc)
    lines += describe_competition(sc)
    lines += describe_resources(sc)
    lines += [
        "",
        f"Money: {sc.firm.money_scale:g} {unit} per unit of performance above "
        f"{sc.firm.break_even:g}; cash at the start {sc.firm.initial_cash:g}; a firm with "
        "negative cash closes",
        f"Runs {sc.horizon} periods on {sc.seeds} seeds by default; 'after' = from period "
        f"{sc.split}",
    ]
    start = {
        "random": "a random configuration",
        "efficient": "the most efficient configuration",
        "fitted": "the configuration that fits the initial market best",
    }[sc.firm.start]
    lines.append(f"Every firm starts from {start} (the same for every strategy on a seed)")
    if sc.firm.burn_in:
        lines[-1] += (
            f", then runs {sc.firm.burn_in} periods in the initial market under its own "
            "strategy, without money, before period 0 (a burn-in)"
        )
    adaptation = sc.adaptation
    if adaptation is not None:
        first = (
            "the strategy it is run as" if adaptation.start == "own" else "one of them at random"
        )
        lines.append(
            f"Strategies learn: a firm follows one of {', '.join(adaptation.strategies)}, "
            f"starting with {first}; every {adaptation.review} periods it compares its mean "
            f"profit with its aspiration and, if it fell short, draws which to follow next, "
            f"favouring those that earned it more (temperature {adaptation.temperature:g} "
            f"{sc.money_unit})"
        )
        if adaptation.imitation > 0:
            network = sc.competition.network if sc.competition is not None else None
            if sc.competition is None:
                peer = "the best other firm of its population"
            elif network is None or network.kind == "none":
                peer = "a rival of its market drawn at random"
            else:
                peer = "one of its partners drawn at random"
            noise = (
                f" (seen with an error of sd {adaptation.imitation_noise:g} {sc.money_unit})"
                if adaptation.imitation_noise > 0
                else ""
            )
            lines[-1] += (
                f"; at a review, with chance {adaptation.imitation:g}, it looks at {peer} "
                f"and copies its strategy if that firm earned more{noise}"
            )
    return "\n".join(lines)
