"""``python -m bench``: run every module of figures, print one table, write results.json."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from bench import (
    async_figures,
    authorizer_figures,
    cache_figures,
    layer_figures,
    localcloud_figures,
)
from bench.report import Figure, render_table, write_json

# One line per module of figures: it exposes figures(quick: bool) -> list[Figure].
MODULES: list[ModuleType] = [
    layer_figures,
    localcloud_figures,
    async_figures,
    authorizer_figures,
    cache_figures,
]

RESULTS = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="MODULE",
        help="run only this module of figures (e.g. layer_figures); repeatable",
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"output file ({RESULTS.name})")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    selected = [m for m in MODULES if not args.only or m.__name__.rsplit(".", 1)[-1] in args.only]
    figures: list[Figure] = []
    errors = 0
    for module in selected:
        run: Callable[[bool], list[Figure]] = module.figures
        try:
            figures += run(args.quick)
        except Exception:  # one broken module must not hide the others' figures
            errors += 1
            print(f"{module.__name__} failed:", file=sys.stderr)
            traceback.print_exc()

    print(render_table(figures))
    write_json(figures, args.json)
    print(f"\nwrote {args.json}")
    missed = [f.name for f in figures if f.met is False]
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    return 1 if errors or (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
