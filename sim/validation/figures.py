"""Figures overlaying the published points on the model's curves."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.validation.experiments import Outcome

K_COLOURS = {0: "#009E73", 1: "#0072B2", 5: "#D55E00"}


def _figure(title: str, width: float = 7.5) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, 4.8), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=12, loc="left")
    ax.grid(alpha=0.3)
    return fig, ax


def _published_legend(ax) -> None:
    ax.plot([], [], "ko", mfc="white", label="published")
    ax.legend(fontsize=10, frameon=False)


def _curves_by_k(ax, outcome: Outcome, x: list[int] | None = None) -> None:
    """The model's curve per K (against ``x``, default the periods) and the published points."""
    for k, curve in outcome.curves["model"].items():
        colour = K_COLOURS[k]
        ax.plot(x or range(len(curve)), curve, color=colour, lw=2, label=f"model, K={k}")
        points = outcome.curves["published"][k]
        ax.plot(list(points), list(points.values()), "o", color=colour, mfc="white", ms=8, mew=2)
    _published_legend(ax)


def levinthal_fig1(outcome: Outcome) -> Figure:
    fig, ax = _figure("Levinthal 1997 Fig. 1: distinct forms, local search only")
    _curves_by_k(ax, outcome)
    ax.set(xlabel="period", ylabel="distinct forms (of 100 firms)", xlim=(0, 25))
    return fig


def levinthal_fig6(outcome: Outcome) -> Figure:
    fig, ax = _figure("Levinthal 1997 Fig. 6: incumbents surviving a change at t=25")
    _curves_by_k(ax, outcome, outcome.curves["periods"])
    ax.axvline(25, color="0.3", ls="--", lw=1)
    ax.set(xlabel="period", ylabel="% of incumbents (t=23, 24) alive")
    return fig


def landscape_peaks(outcome: Outcome) -> Figure:
    fig, ax = _figure("Levinthal 1997 Fig. 8: local peaks by K (N=10)")
    model, published = outcome.curves["model"], outcome.curves["published"]
    ax.plot(list(model), list(model.values()), color="#0072B2", lw=2, marker="s", label="model")
    ax.plot(list(published), list(published.values()), "ko", mfc="white", ms=8, mew=2)
    ax.set(xlabel="K", ylabel="mean number of local peaks")
    _published_legend(ax)
    return fig


def rivkin_siggelkow(outcome: Outcome) -> Figure:
    fig, ax = _figure("Rivkin & Siggelkow 2003: long-run performance by design")
    table, ks = outcome.curves["table"], outcome.curves["ks"]
    colours = {
        "rubber-stamp": "#D55E00",
        "active CEO, P=1": "#56B4E9",
        "active CEO, P=2": "#0072B2",
    }
    for incent in outcome.curves["incents"]:
        for design, colour in colours.items():
            values = [table[k, incent, design]["normalised"] for k in ks]
            ax.plot(
                ks,
                values,
                color=colour,
                lw=2,
                ls="-" if incent == 0 else "--",
                marker="o",
                label=f"{design}, Incent={incent:g}",
            )
            reference = [table[k, incent, design]["reference"] for k in ks]
            ax.plot(ks, reference, "o", color=colour, mfc="white", ms=9, mew=1.5)
    ax.plot([], [], "ko", mfc="white", label="independent implementation")
    ax.set(xlabel="K (random interactions, N=6)", ylabel="performance / global maximum")
    ax.legend(fontsize=9, frameon=False)
    return fig


#: The cycling figure's colours by alpha (Okabe-Ito: vermillion, reddish purple, blue, told
#: apart in deutan and protan vision too) and marker by alpha, line style by coordination.
ALPHA_COLOURS = ("#D55E00", "#CC79A7", "#0072B2")
ALPHA_MARKERS = ("o", "s", "^")


def ethiraj_levinthal(outcome: Outcome) -> Figure:
    fig, ax = _figure("Cycling under decentralisation (after Ethiraj & Levinthal 2004)")
    fig.set_figheight(5.6)
    cross = outcome.curves["cross"]
    independent = outcome.curves["independent"]
    designs = list(outcome.curves["share"])
    alphas = list(dict.fromkeys(d.partition("alpha=")[2] for d in designs))
    for design, shares in outcome.curves["share"].items():
        sequential = design.startswith("sequential")
        which = alphas.index(design.partition("alpha=")[2]) % len(ALPHA_COLOURS)
        colour = ALPHA_COLOURS[which]
        ax.plot(
            cross,
            [100 * shares[c] for c in cross],
            lw=2,
            color=colour,
            marker=ALPHA_MARKERS[which],
            ls="--" if sequential else "-",
            label=design,
        )
        if design in independent:
            points = independent[design]
            ax.plot(
                list(points),
                [100 * v for v in points.values()],
                "o",
                color=colour,
                mfc="white",
                ms=10,
                mew=1.5,
            )
    ax.plot([], [], "ko", mfc="white", ms=10, label="independent implementation")
    ax.set(xlabel="cross-department interdependence C", ylabel="% of runs ending in a cycle")
    ax.set_xticks(list(cross))  # C is a whole number of links
    # below the axes, never over the curves
    fig.legend(loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    return fig


FIGURES = {
    "levinthal_1997_fig1": levinthal_fig1,
    "levinthal_1997_fig6": levinthal_fig6,
    "levinthal_1997_fig8": landscape_peaks,
    "rivkin_siggelkow_2003": rivkin_siggelkow,
    "ethiraj_levinthal_2004": ethiraj_levinthal,
}


def save(name: str, outcome: Outcome, out: Path) -> Path | None:
    """Write the experiment's figure as ``OUT/<name>.png`` (if it has one; atomically: a full
    disk leaves no truncated file)."""
    from sim.results import save_figure

    draw = FIGURES.get(name)
    if draw is None:
        return None
    path = out / f"{name}.png"
    save_figure(draw(outcome), path)
    return path
