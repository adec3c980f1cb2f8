"""The shared output of the benchmarks: a ``Figure`` per measurement, a table, a JSON file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Figure", "render_table", "write_json"]


@dataclass(frozen=True)
class Figure:
    """One measured number and, when it has one, the target it is held to.

    ``met`` is None for a figure with no target (a baseline). ``ratio`` (to the figure's
    baseline, named in ``note``) is shown in the table only: the JSON keeps the fields
    name, value, unit, target and met.
    """

    name: str
    value: float
    unit: str
    target: str | None = None
    met: bool | None = None
    ratio: float | None = None
    note: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "target": self.target,
            "met": self.met,
        }


def _value(figure: Figure) -> str:
    magnitude = abs(figure.value)
    digits = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2
    return f"{figure.value:.{digits}f}"


def render_table(figures: Sequence[Figure]) -> str:
    """A plain-text table, one figure per line, columns sized to their content."""
    header = ("figure", "value", "unit", "ratio", "target", "met", "note")
    rows = [
        (
            f.name,
            _value(f),
            f.unit,
            "" if f.ratio is None else f"{f.ratio:.2f}x",
            f.target or "",
            {True: "yes", False: "NO", None: "-"}[f.met],
            f.note,
        )
        for f in figures
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {1, 3}  # numbers line up on the right

    def line(row: Sequence[str]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def write_json(figures: Iterable[Figure], path: Path) -> None:
    path.write_text(json.dumps([f.to_json() for f in figures], indent=2) + "\n", encoding="utf-8")
