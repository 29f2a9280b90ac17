"""The classroom app's entry point for Solara: `Page` and `Layout`.

Kept light on purpose: Solara imports this module before the server answers, while the
model, matplotlib and the page's components (`sim.app.page`) load in the background
(`sim.app.spare`, started by `sim.app.server`) while the browser loads Solara's scripts.
"""

from __future__ import annotations

import solara


@solara.component
def Page() -> None:
    """The classroom: twin firms in one market, live."""
    from sim.app.page import Classroom

    Classroom()


@solara.component
def Layout(children: list | None = None) -> None:
    """No app bar or sidebar: the page is the whole window."""
    solara.Column(children=children or [], gap="0px", style={"padding": "0"})
