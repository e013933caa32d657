"""The ``tailrisk`` command line: the only module that knows every layer.

Each subcommand is a plain click command registered on :data:`main`; a later one (``sweep``,
``compare-policies``, ``venue-risk``) is a function decorated with ``@main.command(...)`` here, or
``main.add_command(cmd)`` from elsewhere. Heavy imports (jax, matplotlib) happen inside commands so
that ``tailrisk --help`` is instant.

Exit codes: 0 success, 1 a run or input failed, 2 a bad configuration or bad usage.
"""

from __future__ import annotations

import importlib.resources
import math
import sys
from pathlib import Path
from typing import Any

import click

from .config import ConfigError, load_config
from .config.venue import POLICIES

__all__ = ["main", "quickstart_path"]

MODEL_NAMES = ("gbm", "student_t", "merton", "kou", "garch_t", "hawkes", "stable")
EXIT_BAD_CONFIG = 2


def quickstart_path() -> Path:
    """The built-in quickstart (package data, byte-identical to experiments/quickstart.toml)."""
    return Path(str(importlib.resources.files("tailrisk") / "experiments" / "quickstart.toml"))


def _config_error(err: ConfigError) -> None:
    click.echo(str(err), err=True)
    sys.exit(EXIT_BAD_CONFIG)


def _population_problem(exp: Any) -> str | None:
    """What is wrong with the config's population CSV (the message a run gives), or None.

    Reads and checks the whole file (header and every row), as the run does before it starts.
    """
    if exp.venue is None or not exp.venue.population.csv:
        return None
    from .venue import PopulationError, load_population_csv

    pop = exp.venue.population
    try:
        load_population_csv(pop.csv, pop, exp.model.s0)
    except PopulationError as err:
        return str(err)
    return None


def _write_json(path: Path, obj: Any) -> None:
    from .runner import atomic_write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, obj)


#: subcommands that never compile a JAX program (they get no compile cache, so write nothing)
_NO_JAX = frozenset({"validate-config"})


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tailrisk")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Monte Carlo tail risk of crypto perpetual-futures venues.

    Typical use: check a config, run it, read the PDF report.

    \b
      tailrisk validate-config experiments/quickstart.toml
      tailrisk run experiments/quickstart.toml --out runs
      tailrisk run --quickstart

    Compiled JAX programs are kept in ~/.cache/tailrisk ($TAILRISK_CACHE_DIR; "off": none).
    """
    if ctx.invoked_subcommand not in _NO_JAX:
        from ._compile_cache import enable_compile_cache

        enable_compile_cache()  # before any jax work: a repeat run loads its compiled programs


# ----------------------------------------------------------------------------- run / report


@main.command("run")
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--quickstart", is_flag=True, help="Run the built-in quickstart experiment instead of CONFIG."
)
@click.option(
    "--out",
    default="runs",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that receives the run folder <run.name>-<config hash>/.",
)
@click.option(
    "--no-resume",
    is_flag=True,
    help="Recompute every chunk even if the run folder already holds some.",
)
@click.option(
    "--report/--no-report",
    default=True,
    show_default=True,
    help="Write report.pdf into the run folder when the run is complete.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; print only the paths.")
def run_cmd(
    config: Path | None, quickstart: bool, out: Path, no_resume: bool, report: bool, quiet: bool
) -> None:
    """Simulate the experiment in CONFIG (a TOML file) chunk by chunk.

    The config is validated first (nothing is written if it is bad; exit code 2). Results go to
    OUT/<run.name>-<config hash>/: manifest.json and chunks/chunk_*.npz. An interrupted run is
    resumed from its last complete chunk by running the same command again; the result is bit
    for bit the one an uninterrupted run gives.
    """
    if quickstart == (config is not None):
        raise click.UsageError("give either CONFIG or --quickstart (not both)")
    source = quickstart_path() if quickstart else config
    try:
        exp = load_config(source)
    except ConfigError as err:
        _config_error(err)
    from .runner import RunError, run_dir_for, run_experiment

    if not quiet:
        from .report.format import step_text as _step_text

        run = exp.run
        click.echo(
            f"{'quickstart' if quickstart else source}: {run.paths:,} paths x {run.steps} steps "
            f"of {_step_text(run.dt)}, "
            f"model {exp.model.name}" + (f", venue policy {exp.venue.policy}" if exp.venue else "")
        )
        click.echo(f"run folder: {run_dir_for(exp, out)}")
    try:
        result = run_experiment(exp, out, resume=not no_resume, progress=not quiet)
    except RunError as err:
        raise click.ClickException(str(err)) from None
    except ConfigError as err:
        _config_error(err)
    except ValueError as err:
        from .venue import PopulationError  # a population CSV rejected below the config layer

        if not isinstance(err, PopulationError):
            raise
        click.echo(f"{source}: {err}", err=True)
        sys.exit(EXIT_BAD_CONFIG)
    wall = result.manifest.get("wall_time_s", float("nan"))
    click.echo(f"run complete ({wall:.1f} s): {result.run_dir}")
    if report:
        from .report import build_report

        pdf = build_report(result, result.run_dir / "report.pdf")
        click.echo(f"report: {pdf}")


@main.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PDF to write (default: RUN_DIR/report.pdf).",
)
def report_cmd(run_dir: Path, output: Path | None) -> None:
    """(Re)build the PDF report of a finished run in RUN_DIR."""
    from .report import build_report
    from .runner import RunError, load_run

    try:
        result = load_run(run_dir)
    except RunError as err:
        raise click.ClickException(str(err)) from None
    pdf = build_report(result, output or run_dir / "report.pdf")
    click.echo(f"report: {pdf}")


# ----------------------------------------------------------------------------- configs


@main.command("validate-config")
@click.argument("configs", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate_config_cmd(configs: tuple[Path, ...]) -> None:
    """Check experiment files without running anything.

    Prints "<file>: ok" for each good file. For a bad one every problem is printed on stderr,
    naming the file, the key, the value and what is allowed; the exit code is then 2. A
    population CSV ([venue.population] csv) is read and checked too: its columns and every row.
    Nothing is ever written.
    """
    bad = False
    for path in configs:
        try:
            exp = load_config(path)
        except ConfigError as err:
            click.echo(str(err), err=True)
            bad = True
            continue
        problem = _population_problem(exp)
        if problem is not None:
            click.echo(f"{path}: {problem}", err=True)  # as `tailrisk run` reports it
            bad = True
        else:
            click.echo(f"{path}: ok")
    if bad:
        sys.exit(EXIT_BAD_CONFIG)


# ----------------------------------------------------------------------------- calibrate


@main.command("calibrate")
@click.option(
    "--data",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="CSV of daily prices (default: the shipped BTC/USD daily closes).",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    default=("all",),
    show_default=True,
    type=click.Choice((*MODEL_NAMES, "all")),
    help="Model to fit; repeat for several, or 'all'.",
)
@click.option("--date-col", default="date", show_default=True, help="Name of the date column.")
@click.option(
    "--price-col", default="price", show_default=True, help="Name of the price column (USD)."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the fits.")
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the full result as JSON here.",
)
def calibrate_cmd(
    data: Path | None,
    models: tuple[str, ...],
    date_col: str,
    price_col: str,
    seed: int,
    json_out: Path | None,
) -> None:
    """Fit price models by maximum likelihood to a daily price series.

    Prints each model's parameters (annualised), log-likelihood and AIC, beside the data's Hill
    tail index.
    """
    from .calibrate import calibrate_report, default_data_path

    names = MODEL_NAMES if "all" in models else tuple(dict.fromkeys(models))
    try:
        result = calibrate_report(data or default_data_path(), names, date_col, price_col, seed)
    except (ValueError, KeyError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(result.to_text())
    if json_out is not None:
        _write_json(json_out, result.to_dict())
        click.echo(f"json: {json_out}")


# ----------------------------------------------------------------------------- bench


def _format_cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:,.4g}"
    return str(value)


#: units of the columns the benchmarks report, shown in the table header
_UNITS = {
    "draws_per_s": "draws/s",
    "paths_per_s": "paths/s",
    "path_steps_per_s": "path-steps/s",
    "median_s": "s, median",
    "ratio_to_normal": "x normal",
}


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain text table of a list of dicts (columns in first-seen order, units in headers)."""
    if not rows:
        return "(no rows)"
    cols: list[str] = []
    for row in rows:
        cols += [k for k in row if k not in cols]
    head = [f"{c} [{_UNITS[c]}]" if c in _UNITS else c for c in cols]
    body = [[_format_cell(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for b in body:
        cells = [
            v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(b, widths, strict=True))
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def _knob(name: str, value: Any) -> str:
    if name == "rows_budget":
        return f"{name} {value / 2**20:,.0f} MiB"
    return f"{name} {value:,}" if isinstance(value, int) else f"{name} {value}"


@main.command("bench")
@click.option(
    "--what",
    type=click.Choice(("paths", "venue", "pricing", "all")),
    default="all",
    show_default=True,
    help="Which kernels to time.",
)
@click.option("--paths", "n_paths", default=65_536, show_default=True, help="Paths per call.")
@click.option("--steps", default=256, show_default=True, help="Steps per path.")
@click.option("--accounts", "n_accounts", default=10_000, show_default=True,
              type=click.IntRange(min=1),
              help="Venue benchmark: accounts in the generated population.")
@click.option("--chunk", default=32_768, show_default=True, type=click.IntRange(min=1),
              help="Venue benchmark: paths per chunk (the RNG floor uses the same chunks).")
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(min=1),
              help="Venue benchmark: timed calls per row (the median is reported).")
@click.option("--policy", "policies", multiple=True,
              type=click.Choice(POLICIES),
              help="Venue benchmark: policies to time (repeatable; default all).")
@click.option("--curve/--no-curve", default=True, show_default=True,
              help="Venue benchmark: the time curve over 1k..1M accounts and the reference.")
@click.option("--block", type=click.IntRange(min=1),
              help="Venue benchmark: paths per ADL block (default: the device's; other "
                   "widths can move the last bit of ADL sums).")
@click.option("--compact", type=click.IntRange(min=1),
              help="Venue benchmark: smallest batch of the event schedule, paths "
                   "(default: the device's).")
@click.option("--rows-budget", "rows_budget_mib", type=click.IntRange(min=1),
              help="Venue benchmark: memory for private account rows, MiB (default: the "
                   "device's).")
@click.option("--warmup", type=click.Choice(("full", "chunk")), default="full", show_default=True,
              help="Venue benchmark: the untimed compile call runs every chunk or the first.")
@click.option("--schedule", type=click.Choice(("auto", "events", "scan")), default="auto",
              show_default=True, help="Venue benchmark: how the kernel walks the time grid.")
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the rows as JSON here.",
)
def bench_cmd(what: str, n_paths: int, steps: int, n_accounts: int, chunk: int, repeats: int,
              policies: tuple[str, ...], curve: bool, block: int | None, compact: int | None,
              rows_budget_mib: int | None, warmup: str, schedule: str,
              json_out: Path | None) -> None:
    """Time the price samplers and the venue kernel on this machine's JAX device.

    Each figure is the median of several timed calls after one warm-up (compile) call. The
    kernel knobs (--block, --compact, --rows-budget, --schedule) never change the numbers, only
    the time (--block: the last bit at most); their defaults depend on the device (CPU or GPU).
    """
    import jax

    from .runner import _environment

    env = _environment()
    click.echo(f"jax {env['jax']} on {jax.default_backend()}: {', '.join(env['jax_devices'])}")
    out: dict[str, Any] = {"environment": env, "paths": n_paths, "steps": steps}
    if what in ("paths", "all"):
        from .paths import bench_samplers

        rows = bench_samplers(n_paths=n_paths, steps=steps)
        click.echo(f"\nprice samplers, {n_paths:,} paths x {steps} steps (medians):")
        click.echo(format_table(rows))
        out["paths_rows"] = rows
    if what in ("venue", "all"):
        try:
            from .venue.bench import bench_venue
        except ImportError as err:
            click.echo(f"\nvenue kernel: not available ({err})", err=True)
        else:
            try:
                from .venue.kernel import device_knobs

                kw: dict[str, Any] = {} if curve else {"accounts_curve": (),
                                                       "reference_paths": 0}
                if policies:
                    kw["policies"] = policies
                given = {"block": block, "compact": compact, "schedule": schedule,
                         "rows_budget": rows_budget_mib and rows_budget_mib << 20}
                knobs = {**device_knobs(), **{k: v for k, v in given.items() if v}}
                out["venue_knobs"] = knobs
                click.echo(f"\nvenue kernel, {n_paths:,} paths x {steps} steps x {n_accounts:,} "
                           f"accounts, chunks of {min(chunk, n_paths):,} paths; knobs: "
                           + ", ".join(_knob(k, v) for k, v in knobs.items()))

                def progress(row: dict[str, Any]) -> None:
                    if "seconds" in row:
                        click.echo(f"  {row['case']} {row['policy']} {row['accounts']:,} "
                                   f"accounts: {row['seconds']:.3f} s", err=True)

                rows = bench_venue(n_paths=n_paths, steps=steps, n_accounts=n_accounts,
                                   chunk=chunk, repeats=repeats, knobs=knobs, on_row=progress,
                                   warmup=warmup, **kw)
            except NotImplementedError:
                click.echo("\nvenue kernel: bench_venue is not implemented yet", err=True)
            else:
                rows = rows if isinstance(rows, list) else [rows]
                click.echo(f"\nvenue kernel, {n_paths:,} paths x {steps} steps (medians):")
                click.echo(format_table(rows))
                out["venue_rows"] = rows
    if what == "pricing":  # options on damped assets (not part of "all": minutes at 1M paths)
        from .pricing.bench import bench_pricing

        click.echo(f"\noptions on damped assets, {n_paths:,} paths x {steps} steps x "
                   f"{n_accounts:,} accounts, chunks of {min(chunk, n_paths):,} paths "
                   f"(medians of {repeats}):")
        rows = bench_pricing(n_paths=n_paths, steps=steps, n_accounts=n_accounts, chunk=chunk,
                             repeats=repeats,
                             on_row=lambda r: click.echo(f"  {r['case']}: {r['note']}",
                                                         err=True))
        click.echo(format_table(rows))
        out["pricing_rows"] = rows
    if json_out is not None:
        _write_json(json_out, out)
        click.echo(f"json: {json_out}")


# ----------------------------------------------------------------------------- issue 4: policies,
# sweeps, venue risk, exemption frontier, Hyperliquid (each writes tidy Parquet atomically)

_OUT_OPTION = click.option(
    "--out",
    default="runs",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder holding the run folder <run.name>-<config hash>/ that receives the output.",
)


def _load_or_exit(config: Path):
    try:
        return load_config(config)
    except ConfigError as err:
        _config_error(err)


def _write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    from .analytics import write_tidy

    write_tidy(rows, path)
    click.echo(f"tidy table: {path}")


@main.command("compare-policies")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--policy", "policies", multiple=True, help="Policy to run (repeat); default all.")
@click.option("--paths", type=int, help="Paths (default run.paths).")
@_OUT_OPTION
def compare_policies_cmd(
    config: Path, policies: tuple[str, ...], paths: int | None, out: Path
) -> None:
    """Run every ADL policy on the same price paths and compare solvency and fairness."""
    from .runner import run_dir_for
    from .studies.policy_comparison import compare_policies_run, comparison_table

    exp = _load_or_exit(config)
    try:
        comp, _ = compare_policies_run(exp, policies or POLICIES, paths=paths)
    except ConfigError as err:
        _config_error(err)
    click.echo(f"{comp.n_paths:,} common paths; ± is one Monte Carlo standard error")
    click.echo(format_table(comparison_table(comp)))
    _write_rows(comp.to_rows(), run_dir_for(exp, out) / "compare_policies.parquet")


@main.command("sweep")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=V1,V2",
    help="Grid over a dotted config key (repeat); default: the config's [sweep] table.",
)
@click.option("--paths", type=int, help="Paths per grid point (default run.paths).")
@_OUT_OPTION
def sweep_cmd(config: Path, sets: tuple[str, ...], paths: int | None, out: Path) -> None:
    """Run the venue at every point of a parameter grid; one metric row per point."""
    from .runner import run_dir_for
    from .studies.sweep import DEFAULT_METRICS, parse_set, run_sweep, sweep_table

    exp = _load_or_exit(config)
    try:
        grid = dict(parse_set(s) for s in sets)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    metrics: Any = DEFAULT_METRICS
    if not grid:
        if exp.sweep is None:
            raise click.UsageError("give --set KEY=V1,V2 or a [sweep] table in CONFIG")
        grid = {k: list(v) for k, v in exp.sweep.grid.items()}
        metrics = exp.sweep.metrics or DEFAULT_METRICS
    path = run_dir_for(exp, out) / "sweep.parquet"
    try:
        res = run_sweep(exp, grid, metrics, path, paths=paths)
    except ConfigError as err:
        _config_error(err)
    click.echo(format_table(sweep_table(res)))
    click.echo(f"tidy table: {path}")


@main.command("venue-risk")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--budget", type=float, required=True, help="Haircut budget at the ES level, USD.")
@click.option("--side", type=click.Choice(("long", "short")), required=True)
@click.option("--leverage", type=float, default=10.0, show_default=True)
@click.option("--level", type=float, default=0.99, show_default=True, help="ES level.")
@click.option("--policy", help="ADL policy (default venue.policy).")
@click.option("--paths", type=int, help="Paths (default run.paths).")
@_OUT_OPTION
def venue_risk_cmd(
    config: Path,
    budget: float,
    side: str,
    leverage: float,
    level: float,
    policy: str | None,
    paths: int | None,
    out: Path,
) -> None:
    """Haircut risk of a winning position and the largest position a budget allows."""
    from .runner import run_dir_for
    from .studies.venue_risk import venue_risk

    exp = _load_or_exit(config)
    try:
        r = venue_risk(exp, budget, side, leverage, level=level, policy=policy, paths=paths)
    except ConfigError as err:
        _config_error(err)
    lo, hi = r.max_position_interval()
    pct = f"{100 * level:g}%"
    rows = [
        {"quantity": "P(probe wins)", "value": f"{r.p_win.value:.4g} ± {r.p_win.mcse:.2g}"},
        {"quantity": "P(haircut)", "value": f"{r.p_haircut.value:.4g} ± {r.p_haircut.mcse:.2g}"},
        {
            "quantity": "P(haircut | wins)",
            "value": f"{r.p_haircut_given_win.value:.4g} ± {r.p_haircut_given_win.mcse:.2g}",
        },
        {
            "quantity": f"ES {pct} haircut [USD per USD notional]",
            "value": f"{r.es_haircut_per_usd.value:.4g} ± {r.es_haircut_per_usd.mcse:.2g}",
        },
        {
            "quantity": "damped / undamped | wins",
            "value": f"{r.damping_ratio_given_win.value:.4g}",
        },
        {
            "quantity": f"largest position [USD notional] for {budget:,.0f} USD",
            "value": f"{r.max_position_usd():,.0f} (95%: {lo:,.0f} .. {hi:,.0f})",
        },
    ]
    click.echo(
        f"{side} {leverage:g}x under {r.policy}, {r.n_paths:,} paths "
        "(assumes the position is too small to move the venue)"
    )
    click.echo(format_table(rows))
    name = f"venue_risk_{side}_{leverage:g}x.parquet"
    _write_rows(r.to_rows(), run_dir_for(exp, out) / name)


@main.command("frontier")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--paths", type=int, help="Paths (default run.paths).")
@_OUT_OPTION
def frontier_cmd(config: Path, paths: int | None, out: Path) -> None:
    """Insolvency probability as the exempt share of accounts grows, and where it crosses
    1%, 5% and 50%."""
    from .runner import run_dir_for
    from .studies.frontier import exemption_frontier

    exp = _load_or_exit(config)
    try:
        f = exemption_frontier(exp, paths=paths)
    except ConfigError as err:
        _config_error(err)
    rows = [
        {
            "exempt share": f"{s:g}",
            "P(insolvent)": f"{e.value:.4g} ± {e.mcse:.2g}",
            "P(ADL)": f"{a.value:.4g} ± {a.mcse:.2g}",
        }
        for s, e, a in zip(f.shares, f.insolvency, f.adl, strict=True)
    ]
    click.echo(f"{f.policy}, {f.n_paths:,} common paths (± one binomial standard error)")
    click.echo(format_table(rows))
    cross = [
        {
            "P(insolvent) reaches": f"{c.threshold:g}",
            "at exempt share": c.share,
            "95% band": f"{c.low:.3g} .. {c.high:.3g}",
            "note": c.note,
        }
        for c in f.crossings
    ]
    click.echo(format_table(cross))
    _write_rows(f.to_rows(), run_dir_for(exp, out) / "frontier.parquet")


@main.command("price")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--paths", type=int, help="Paths (default pricing.paths or run.paths).")
@click.option("--greeks/--no-greeks", default=None,
              help="Also delta, gamma, vega by bumps (default pricing.greeks).")
@_OUT_OPTION
def price_cmd(config: Path, paths: int | None, greeks: bool | None, out: Path) -> None:
    """Options on damped assets: the [pricing] grid on every probe's damped asset and on the
    undamped asset, the price of ADL per probe; tidy Parquet tables in the run folder."""
    from .pricing.api import price_options
    from .runner import run_dir_for

    exp = _load_or_exit(config)
    try:
        res = price_options(exp, paths=paths, greeks=greeks)
    except ConfigError as err:
        _config_error(err)
    p = res.prices
    atm = {}
    for i in range(len(p["price_usd"])):  # the strike nearest the money per series
        key = (p["asset"][i], p["probe"][i], p["maturity_years"][i], p["kind"][i])
        gap = abs(p["moneyness"][i] - 1.0)
        if key not in atm or gap < atm[key][0]:
            atm[key] = (gap, i)
    rows = []
    for (asset, probe, mat, kind), (_, i) in atm.items():
        iv = p["implied_vol"][i]
        rows.append({
            "asset": asset if asset == "undamped" else f"damped {probe}",
            "T [days]": f"{mat * 365:g}",
            "option": f"{kind} K={p['strike_usd'][i]:,.6g} USD",
            "price [USD/unit]": f"{p['price_usd'][i]:.6g} ± {p['se_usd'][i]:.2g}",
            "closed form": ("" if not math.isfinite(p["closed_form_usd"][i])
                            else f"{p['closed_form_usd'][i]:.6g}"),
            "implied vol [/yr]": "" if not math.isfinite(iv) else f"{iv:.4f}",
            "VRF": f"{p['vrf'][i]:.3g}",
        })
    n = res.assets.n_paths
    click.echo(f"{n:,} paths; ± one Monte Carlo standard error; strikes nearest the money "
               f"(all {len(p['price_usd']):,} rows in the table)")
    click.echo(format_table(rows))
    a = res.adl
    if len(a["probe"]):
        click.echo("price of ADL (entitled minus damped forward, per unit, discounted)")
        click.echo(format_table([{
            "probe": f"{a['probe'][i]} ({a['side'][i]} {a['leverage'][i]:g}x)",
            "T [days]": f"{a['maturity_years'][i] * 365:g}",
            "ADL price [USD/unit]": f"{a['adl_price_usd'][i]:.4g} ± {a['adl_price_se_usd'][i]:.2g}",
            "rate [/yr of notional]": (f"{a['adl_rate_per_year'][i]:.3%} ± "
                                       f"{a['adl_rate_se_per_year'][i]:.2%}"),
            "P(ADL)": f"{a['p_adl'][i]:.4f}",
        } for i in range(len(a["probe"]))]))
    secs = ", ".join(f"{k} {v:.1f} s" for k, v in res.seconds.items())
    click.echo(f"time: {secs}")
    for path in res.write(run_dir_for(exp, out)):
        click.echo(f"table: {path}")


@main.command("hyperliquid")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    help="The hyperliquid_adl_20251010 folder (default: found via TAILRISK_SHARED_DATA or "
    "shared/data beside the repository).",
)
@click.option("--accounts", default=1500, show_default=True, help="Model accounts per side.")
@click.option("--drop", default=0.2, show_default=True, help="The model crash's fall (share).")
@click.option(
    "--out",
    default="runs",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that receives hyperliquid_20251010/hyperliquid.parquet.",
)
def hyperliquid_cmd(data: Path | None, accounts: int, drop: float, out: Path) -> None:
    """Hyperliquid's 2025-10-10 deleveraged accounts beside queue_hyperliquid and pro_rata."""
    from .studies.hyperliquid import hyperliquid_comparison

    try:
        cmp = hyperliquid_comparison(data, n_accounts=accounts, drop=drop)
    except FileNotFoundError as err:
        raise click.ClickException(str(err)) from None
    click.echo(format_table(cmp.table()))
    for note in cmp.notes:
        click.echo(f"note: {note}")
    _write_rows(cmp.rows, out / "hyperliquid_20251010" / "hyperliquid.parquet")


if __name__ == "__main__":  # pragma: no cover
    main()
