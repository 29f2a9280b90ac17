"""Slides of a finished run: the sailing-in-circles picture as PNG and as an animated GIF."""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.animation import FuncAnimation, PillowWriter
from PIL import Image

from sim.app.live import _SMALL, _TEXT, SLIDE_DPI, SailingView
from sim.app.state import TwinFirms, plain


def sailing_slides(
    twins: TwinFirms, png: Path, gif: Path | None = None, *, fps: int = 10
) -> list[Path]:
    """Slides of a finished run: the sailing-in-circles picture as PNG, and as an animated GIF
    of the trajectories growing period by period (matplotlib animation). 16:9, large type."""
    view = SailingView(twins, width=1280, height=720, dpi=SLIDE_DPI)
    view.update(twins, twins.horizon)
    view.fit(twins)  # limits of the whole run, fitting it: the axes never jump
    view.freeze()
    fig = view.figure
    fig.subplots_adjust(top=0.8, bottom=0.2)
    sc = twins.scenario
    fig.suptitle(textwrap.fill(sc.title or plain(sc.name), 90), fontsize=16, y=0.985, va="top")
    view.legend.set_bbox_to_anchor((0.5, 0.93))
    clock = fig.text(0.985, 0.985, "", ha="right", va="top", fontsize=_TEXT, color="0.25")
    shifts = "; ".join(f"period {p}: {plain(label)}" for p, label in twins.shifts())
    fig.text(
        0.015,
        0.015,
        textwrap.shorten(
            f"Scenario {sc.name}, market {twins.seed}: two firms in the same market. "
            f"{shifts or 'No market shift.'}",
            150,
        ),
        ha="left",
        va="bottom",
        fontsize=_SMALL,
        color="0.25",
    )
    written = []
    clock.set_text(f"period {twins.horizon} of {twins.horizon}")
    fig.savefig(png, dpi=SLIDE_DPI, facecolor="white")
    written.append(Path(png))
    if gif is not None:
        every = max(1, round(twins.horizon / 60))
        frames = [*range(0, twins.horizon, every), twins.horizon]

        def draw(t: int) -> list:
            view.update(twins, t)
            clock.set_text(f"period {t} of {twins.horizon}")
            return []

        palette = Image.open(png).convert("RGB").quantize(colors=96)
        animation = FuncAnimation(fig, draw, frames=frames, blit=False, repeat=False)
        animation.save(gif, writer=_GifWriter(palette, fps=fps), dpi=SLIDE_DPI)
        written.append(Path(gif))
    return written


class _GifWriter(PillowWriter):
    """Matplotlib's Pillow writer, taking each frame as the animation just drew it (no second
    draw) and mapping it to one palette (fast, and no flicker between frames)."""

    def __init__(self, palette: Image.Image, fps: int) -> None:
        super().__init__(fps=fps)
        self.palette = palette

    def grab_frame(self, **savefig_kwargs) -> None:
        canvas = self.fig.canvas
        size = canvas.get_width_height()
        frame = Image.frombuffer("RGBA", size, canvas.buffer_rgba()).convert("RGB")
        self._frames.append(frame.quantize(palette=self.palette, dither=Image.Dither.NONE))

    def finish(self) -> None:
        step = int(1000 / self.fps)
        durations = [step] * (len(self._frames) - 1) + [3000]  # linger on the end
        self._frames[0].save(
            self.outfile,
            save_all=True,
            append_images=self._frames[1:],
            duration=durations,
            loop=0,
        )
