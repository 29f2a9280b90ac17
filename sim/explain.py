"""A scenario in plain words, without running it (`python -m sim explain SCENARIO`)."""

from __future__ import annotations

import numpy as np

from sim.environment import efficiency_edges, environment_rng
from sim.landscape import department_links
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
            f"{e.erosion:g} of it, purpose and stability recover {e.recovery:g} of the gap; it "
            f"{search}; turnover {e.turnover:g} x (1 - engagement) per period"
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
        talk = f", communication {spec.communication:g}" if spec.communication else ""
        lines.append(
            f"  {name}: alpha {alpha}, {spec.coordination}, sensing {spec.sensing:g}, "
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
    lines += describe_competition(sc)
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
