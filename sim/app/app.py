"""The classroom app's entry point for Solara: `Page` and `Layout`.

Kept light on purpose: Solara imports this module before the server answers, while the
model and the page's components (`sim.app.page`) load in the background
(`sim.app.spare`, started by `sim.app.server`) while the browser loads Solara's scripts.
"""

from __future__ import annotations

import os

import solara

#: Set by `python -m sim app --play`: the page is the played market's (`sim.app.play`).
PLAY_ENV = "SMB_SIM_PLAY"


@solara.component
def Page() -> None:
    """The classroom: twin firms in one market, live (with --play: the played market)."""
    if os.environ.get(PLAY_ENV):
        from sim.app.play import PlayPage

        PlayPage()
        return
    from sim.app.page import Classroom

    Classroom()


@solara.component
def Layout(children: list | None = None) -> None:
    """No app bar or sidebar: the page is the whole window."""
    solara.Column(children=children or [], gap="0px", style={"padding": "0"})
