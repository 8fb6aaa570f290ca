"""PNG charts with matplotlib's object API and the Agg canvas: no display, no global state."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

GRADE_COLOURS = {"strong": "#2e9e44", "lean": "#e0b000", "no": "#d03a2f"}


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def leaderboard_chart(*, title: str, names: Sequence[str], completed: Sequence[int]) -> bytes:
    """Horizontal bars of mock rounds completed, best at the top (at most 15 shown)."""
    names, completed = list(names)[:15], list(completed)[:15]
    figure = Figure(figsize=(7, 0.45 * max(3, len(names)) + 1.2))
    axes = figure.add_subplot()
    positions = range(len(names))
    axes.barh(list(positions), completed, color="#3b6fb6")
    axes.set_yticks(list(positions), labels=names)
    axes.invert_yaxis()
    axes.set_xlabel("mock rounds completed")
    axes.set_title(title)
    axes.xaxis.get_major_locator().set_params(integer=True)
    for position, value in zip(positions, completed, strict=True):
        axes.text(value, position, f" {value}", va="center")
    if not names:
        axes.text(
            0.5, 0.5, "no completed rounds yet", ha="center", va="center", transform=axes.transAxes
        )
    figure.tight_layout()
    return _png(figure)


def progress_chart(
    *, title: str, weeks: Sequence[str], grades: dict[str, Sequence[int]], rounds: Sequence[int]
) -> bytes:
    """Grades per week (stacked Strong / Lean / No) with mock rounds completed as a line."""
    figure = Figure(figsize=(8, 4))
    axes = figure.add_subplot()
    positions = list(range(len(weeks)))
    bottom = [0] * len(weeks)
    for grade, label in (("strong", "Strong Hire"), ("lean", "Lean Hire"), ("no", "No Hire")):
        values = list(grades.get(grade, [0] * len(weeks)))
        axes.bar(positions, values, bottom=bottom, color=GRADE_COLOURS[grade], label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_xticks(positions, labels=[w.split("-")[1] for w in weeks])
    axes.set_ylabel("grades")
    axes.set_title(title)
    twin = axes.twinx()
    twin.plot(positions, list(rounds), color="#222222", marker="o", label="mock rounds")
    twin.set_ylabel("mock rounds completed")
    twin.set_ylim(bottom=0, top=max(3, max(rounds, default=0) + 1))
    twin.yaxis.get_major_locator().set_params(integer=True)
    handles, labels = axes.get_legend_handles_labels()
    more_handles, more_labels = twin.get_legend_handles_labels()
    axes.legend(handles + more_handles, labels + more_labels, loc="upper left", fontsize=8)
    figure.tight_layout()
    return _png(figure)
