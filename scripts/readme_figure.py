"""Draw the README's figure from a quickstart run: fat-tailed prices in, damped payoffs out.

    python scripts/readme_figure.py [RUN_DIR] [PNG]

RUN_DIR defaults to the newest ``runs/quickstart-*`` folder (``tailrisk run --quickstart`` writes
it); PNG defaults to ``docs/figures/quickstart_tails.png``. Left: the survival of the terminal log
return's size against a Gaussian of the same standard deviation. Right: the winners' tail of one
leverage cohort, what the venue paid (damped) against what it owed (undamped). The curves, Hill
indices and colours come from the report's own helpers (``tailrisk.report.data`` and ``style``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tailrisk.report import style
from tailrisk.report.data import finite_mask, gauss_surv_abs, hill_alpha, payoff_groups, survival
from tailrisk.runner import load_run

#: the cohort drawn on the right: the one whose largest payoff ADL cut most in the default run
COHORT = "cohort long 3-15x"


def _run_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    found = sorted(Path("runs").glob("quickstart-*"), key=lambda p: p.stat().st_mtime)
    if not found:
        sys.exit("no runs/quickstart-* folder: run `tailrisk run --quickstart` first")
    return found[-1]


def draw(run_dir: Path, png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = load_run(run_dir)
    ok = finite_mask(result)
    n = int(ok.sum())
    horizon = result.experiment.run.horizon * 365
    with plt.rc_context({**style.RC, "figure.figsize": (9.0, 3.4), "font.size": 8.5}):
        fig, (left, right) = plt.subplots(1, 2)

        r = result.per_path["terminal_log_return"][ok]
        a = np.abs(r - np.median(r))
        sd = float(np.std(r))
        x, s = survival(a)
        left.loglog(
            x,
            s,
            color=style.BLUE,
            lw=style.CURVE_LW,
            label=f"Student-t paths (Hill α ≈ {hill_alpha(a):.1f})",
        )
        grid = np.geomspace(max(float(np.quantile(a, 0.1)), 1e-8), a.max() * 1.5, 200)
        left.loglog(
            grid,
            gauss_surv_abs(grid, sd),
            color=style.ORANGE,
            ls="--",
            lw=style.CURVE_LW,
            label="Gaussian, same s.d.",
        )
        left.set_xlim(float(np.quantile(a, 0.5)), a.max() * 1.5)
        left.set_ylim(0.5 / a.size, 1.1)
        left.set_xlabel(f"|log return over {horizon:g} days - median|")
        left.set_ylabel("P(size > x)")
        left.set_title("Prices: fat tails")
        left.legend(loc="lower left")

        groups = {label: (d[ok], u[ok]) for label, d, u in payoff_groups(result)}
        if COHORT not in groups:
            sys.exit(f"{run_dir} has no {COHORT!r}: is it a quickstart run?")
        damped, undamped = groups[COHORT]
        for arr, colour, name, ls in (
            (undamped, style.ORANGE, "undamped (owed)", "--"),
            (damped, style.BLUE, "damped (paid)", "-"),
        ):
            pos = arr[arr > 0]
            x, s = survival(pos)
            right.loglog(
                x,
                s * pos.size / n,
                color=colour,
                ls=ls,
                lw=style.CURVE_LW,
                label=f"{name}, Hill α ≈ {hill_alpha(arr):.1f}",
            )
        right.set_xlim(float(np.quantile(undamped[undamped > 0], 0.5)), undamped.max() * 1.5)
        right.set_xlabel("payoff to the cohort's winners x (USD)")
        right.set_ylabel("P(payoff > x)")
        right.set_title(f"Payoffs after ADL: {COHORT.removeprefix('cohort ')} accounts")
        right.legend(loc="lower left")

        style.finish(fig)
        fig.tight_layout()
        png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png, dpi=110)
        plt.close(fig)
    return png


if __name__ == "__main__":
    args = sys.argv[1:]
    out = Path(args[1]) if len(args) > 1 else Path("docs/figures/quickstart_tails.png")
    print(draw(_run_dir(args[0] if args else None), out))
