"""The ``tailrisk`` command line: the only module that knows every layer.

Each subcommand is a plain click command registered on :data:`main`; a later one (``sweep``,
``compare-policies``, ``venue-risk``) is a function decorated with ``@main.command(...)`` here, or
``main.add_command(cmd)`` from elsewhere. Heavy imports (jax, matplotlib) happen inside commands so
that ``tailrisk --help`` is instant.

Errors are handled once, for every command, by the group (:class:`_Main`): an error a user can
cause (a bad config or population file, a path that cannot be read or written, a run folder that
cannot be used) prints one line; any other exception is a bug, printed as one line that says where
its full traceback was saved (``tailrisk --debug`` prints it instead).

Exit codes: 0 success; 1 a run folder that cannot be used as it is (unfinished, damaged, another
config), a failed check (``verify``) or an internal error; 2 a bad configuration, population file,
path or usage; 3 ``run --strict`` and some path has a non-finite output; 130 and 143 interrupted
by SIGINT (Ctrl-C) and SIGTERM (the same command resumes).
"""

from __future__ import annotations

import datetime as _dt
import importlib.resources
import math
import os
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from .config import ConfigError, load_config
from .config.venue import POLICIES

__all__ = ["main", "quickstart_path"]

MODEL_NAMES = ("gbm", "student_t", "merton", "kou", "garch_t", "hawkes", "stable")
EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2
EXIT_NONFINITE = 3
#: where a command notes its run folder (ctx.meta), so that a traceback can be saved there
RUN_DIR_KEY = "tailrisk.run_dir"


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
_NO_JAX = frozenset({"validate-config", "verify"})


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so that it stops as cleanly as on Ctrl-C."""

    signum = signal.SIGTERM


@contextmanager
def _sigterm_stops_the_command() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(err: KeyboardInterrupt) -> int:
    """Say where an interrupted command stands; the exit code 128 + signal number."""
    signum = int(getattr(err, "signum", signal.SIGINT))
    if hasattr(err, "chunks_done"):
        where = f"after {err.chunks_done} of {err.n_chunks} chunks"
    else:
        where = "before the first chunk or after the last"
    click.echo(f"interrupted {where}; run the same command to resume", err=True)
    return 128 + signum


def _user_error(err: Exception) -> int | None:
    """Print a user-caused error as one line and return its exit code (None: not one)."""
    from .run_store import RunError

    if isinstance(err, ConfigError):
        click.echo(str(err), err=True)
        return EXIT_BAD_CONFIG
    if isinstance(err, RunError):
        click.echo(f"error: {err}", err=True)
        return EXIT_FAILED
    if isinstance(err, OSError) and (err.filename or err.strerror):
        where = f"{err.filename}: " if err.filename else ""
        click.echo(f"error: {where}{err.strerror or err}", err=True)
        return EXIT_BAD_CONFIG
    if isinstance(err, ValueError):
        try:
            from .venue import PopulationError
        except ImportError:  # pragma: no cover - the venue layer is part of the package
            return None
        if isinstance(err, PopulationError):
            click.echo(f"error: {err}", err=True)
            return EXIT_BAD_CONFIG
    return None


def _traceback_folders(ctx: click.Context) -> list[Path]:
    """Where a traceback may go, best first: the run folder, tailrisk's cache, the temp folder."""
    from ._compile_cache import cache_root

    folders = []
    run_dir = ctx.meta.get(RUN_DIR_KEY)
    if run_dir is not None and Path(run_dir).is_dir():
        folders.append(Path(run_dir))
    try:
        root = cache_root()
    except RuntimeError:  # no home folder
        root = None
    if root is not None:
        folders.append(root / "errors")
    folders.append(Path(tempfile.gettempdir()))
    return folders


def _save_traceback(ctx: click.Context, text: str) -> Path | None:
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for folder in _traceback_folders(ctx):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=folder, prefix=f"traceback-{stamp}-", suffix=".txt")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            return Path(name)
        except OSError:
            continue
    return None


def _internal_error(ctx: click.Context, err: Exception, debug: bool) -> int:
    """A bug: one line saying what failed, the traceback in a file (or printed with --debug)."""
    text = "".join(traceback.format_exception(err))
    what = " ".join(f"{type(err).__name__}: {err}".split())
    command = ctx.invoked_subcommand or "tailrisk"
    if debug:
        click.echo(text, err=True, nl=False)
        click.echo(f"tailrisk {command}: internal error ({what})", err=True)
        return EXIT_FAILED
    saved = _save_traceback(ctx, text)
    where = f"the full traceback is in {saved}" if saved else "its traceback could not be saved"
    click.echo(
        f"tailrisk {command}: internal error ({what}); {where}; "
        "`tailrisk --debug ...` prints it",
        err=True,
    )
    return EXIT_FAILED


class _Main(click.Group):
    """The command group. Every command's errors end here: one line each, and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        with _sigterm_stops_the_command():
            try:
                return super().invoke(ctx)
            except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
                raise
            except KeyboardInterrupt as err:
                raise click.exceptions.Exit(_interrupted(err)) from None
            except Exception as err:
                code = _user_error(err)
                if code is None:
                    code = _internal_error(ctx, err, bool(ctx.params.get("debug")))
                raise click.exceptions.Exit(code) from None


@click.group(cls=_Main,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tailrisk")
@click.option("--debug", is_flag=True,
              help="Print the full traceback of an internal error (default: save it to a file).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Monte Carlo tail risk of crypto perpetual-futures venues.

    Typical use: check a config, run it, read the PDF report (RUN_DIR/report.pdf).

    \b
      tailrisk run --quickstart
      tailrisk validate-config experiments/quickstart.toml
      tailrisk run experiments/quickstart.toml --out runs
      tailrisk run experiments/ --out runs    (every claim: one PDF each in reports/)
      tailrisk report --summary runs          (every verdict in reports/summary.pdf)

    `tailrisk COMMAND --help` explains each command; docs/ in the repository explains the model.

    Compiled JAX programs are kept in ~/.cache/tailrisk ($TAILRISK_CACHE_DIR; "off": none).

    \b
    Exit codes: 0 ok; 1 a run folder that cannot be used, a failed check or an
    internal error; 2 a bad config, file or usage; 3 run --strict found non-finite
    outputs; 130 / 143 interrupted by Ctrl-C / SIGTERM (the same command resumes).
    """
    if ctx.invoked_subcommand not in _NO_JAX:
        from ._compile_cache import enable_compile_cache

        enable_compile_cache()  # before any jax work: a repeat run loads its compiled programs


# ----------------------------------------------------------------------------- scale-out options
# (issue 13: every local device, many processes through jax.distributed; tailrisk/scale/)


def _scale_options(fn):
    """--devices and the distributed options of ``run``."""
    fn = _distributed_options(fn)
    return click.option("--devices", type=click.IntRange(min=1),
                        help="Local devices each chunk's paths are split over (default: all of "
                             "this process's; the numbers do not change).")(fn)


def _distributed_options(fn):
    """The distributed options of ``run``, ``sweep`` and ``compare-policies`` (studies split
    each chunk over all local devices)."""
    opts = [
        click.option("--distributed", is_flag=True,
                     help="Join a multi-process run through jax.distributed; without the three "
                          "options below, from JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and "
                          "JAX_PROCESS_ID or SLURM (srun)."),
        click.option("--coordinator", metavar="HOST:PORT",
                     help="Process 0's address and a free port (implies --distributed)."),
        click.option("--num-processes", type=int, help="Processes in the run (all hosts)."),
        click.option("--process-id", type=int, help="This process's index, 0 to N-1."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _scale_kwargs(opts: dict[str, Any]) -> dict[str, Any]:
    """``{"devices", "group"}`` from the options of :func:`_scale_options` (joins the other
    processes first when asked to; a bad setting exits with code 2 naming it)."""
    from .scale import SINGLE, LaunchError, init_distributed, paths_mesh

    group = SINGLE
    explicit = (opts.get("coordinator"), opts.get("num_processes"), opts.get("process_id"))
    if opts.get("distributed") or any(v is not None for v in explicit):
        try:
            group = init_distributed(*explicit)
        except LaunchError as err:
            click.echo(str(err), err=True)
            sys.exit(EXIT_BAD_CONFIG)
    try:
        paths_mesh(opts.get("devices"))  # checked before any work
    except ValueError as err:
        click.echo(f"--devices: {err}", err=True)
        sys.exit(EXIT_BAD_CONFIG)
    return {"devices": opts.get("devices"), "group": group}


# ----------------------------------------------------------------------------- run / report


@main.command("run")
@click.argument("config", required=False, type=click.Path(path_type=Path))
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
@click.option(
    "--strict",
    is_flag=True,
    help="Exit with code 3 when any path has a non-finite output (the run folder and report "
    "are still written).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; print only the paths.")
@_scale_options
@click.option("--paths", "n_paths", type=click.IntRange(min=1),
              help="Override run.paths (the chunk size is cut to it; the config hash follows).")
@click.option("--reports", type=click.Path(file_okay=False, path_type=Path), default="reports",
              show_default=True,
              help="Folder of the PDFs when CONFIG is a folder or has a [study]: <file stem>.pdf.")
@click.pass_context
def run_cmd(
    ctx: click.Context,
    config: Path | None,
    quickstart: bool,
    out: Path,
    no_resume: bool,
    report: bool,
    strict: bool,
    quiet: bool,
    n_paths: int | None,
    reports: Path,
    **scale_opts: Any,
) -> None:
    """Simulate the experiment in CONFIG (a TOML file) chunk by chunk.

    CONFIG may also be a folder: every experiment in it that has a [claim] runs, each writing
    <file stem>.pdf with its verdict into --reports (files without one are listed as skipped).
    A file with a [study], a network of venues or a [replay] runs as such (like `tailrisk
    contagion` and `tailrisk replay`).

    The config is validated first (nothing is written if it is bad; exit code 2). Results go to
    OUT/<run.name>-<config hash>/: manifest.json and chunks/chunk_*.npz, each chunk's SHA-256 in
    the manifest. An interrupted run (Ctrl-C, SIGTERM, a crash) is resumed from its finished
    chunks by running the same command again; a chunk found missing or damaged is named and
    recomputed; the result is bit for bit the one an uninterrupted run gives.

    The last line says how many paths have a non-finite output (NaN or infinite) and which
    outputs; the report leaves those paths out of its statistics, and --strict makes them exit
    code 3.
    """
    if quickstart == (config is not None):
        raise click.UsageError("give either CONFIG or --quickstart (not both)")
    source = quickstart_path() if quickstart else config
    if source.is_dir() or _has_study(source) or _suite_claim(source):
        _run_suite(source, out, reports if report else None, n_paths, not no_resume, quiet)
        return
    if _is_network_file(source):  # several venues: the contagion command (issue 14)
        ctx.invoke(contagion_cmd, config=source, out=out, cut_links=False, report=report)
        return
    exp = load_config(source)
    if exp.replay is not None:  # a replay of recorded prices (docs/replay.md)
        ctx.invoke(replay_cmd, config=source, paths=n_paths, out=out, report=report, quiet=quiet)
        return
    if n_paths is not None:
        from .studies.suite import with_paths

        exp = with_paths(exp, n_paths)
    from .runner import check_memory, run_dir_for, run_experiment

    # jax.distributed starts before any JAX call (the memory check asks JAX for its device)
    scale = _scale_kwargs(scale_opts)
    check_memory(exp, str(source))  # before anything is written

    ctx.meta[RUN_DIR_KEY] = run_dir_for(exp, out)
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
        result = run_experiment(
            exp,
            out,
            resume=not no_resume,
            progress=not quiet,
            notify=lambda message: click.echo(message, err=True),
            **scale,
        )
    except ValueError as err:
        from .venue import PopulationError  # a population CSV rejected below the config layer

        if not isinstance(err, PopulationError):
            raise
        click.echo(f"{source}: {err}", err=True)
        sys.exit(EXIT_BAD_CONFIG)
    wall = result.manifest.get("wall_time_s", float("nan"))
    bad, outputs = _nonfinite_summary(result.manifest)
    n = result.n_paths
    count = f"{bad:,} of {n:,} paths with non-finite outputs" if bad else "0 non-finite paths"
    click.echo(f"run complete ({wall:.1f} s): {count}: {result.run_dir}")
    if scale["group"].writer:
        from .run_table import write_run_table

        write_run_table(result)
    if report and scale["group"].writer:
        from .report import build_report

        pdf = build_report(result, result.run_dir / "report.pdf")
        click.echo(f"report: {pdf}")
    if not bad:
        return
    # said last, so that it is the line a user reads
    what = f"{bad:,} of {n:,} paths have non-finite outputs ({', '.join(outputs)})"
    if strict:
        click.echo(f"error: --strict: {what}", err=True)
        sys.exit(EXIT_NONFINITE)
    click.echo(f"warning: {what}; the report leaves them out of its statistics", err=True)


def _nonfinite_summary(manifest: dict[str, Any]) -> tuple[int, list[str]]:
    """(paths with a non-finite output, the outputs concerned) as the manifest records them."""
    totals = manifest.get("nonfinite") or {}
    return int(totals.get("paths", 0)), list(totals.get("outputs", {}))


@main.command("report")
@click.argument("run_dirs", nargs=-1,
                type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PDF to write (default: RUN_DIR/report.pdf; with --summary reports/summary.pdf).",
)
@click.option("--summary", is_flag=True,
              help="One PDF with every experiment's claim and verdict, from the verdict.json "
                   "of RUN_DIRS (run or study folders, or folders of them; default: runs/).")
@click.pass_context
def report_cmd(ctx: click.Context, run_dirs: tuple[Path, ...], output: Path | None,
               summary: bool) -> None:
    """Rebuild the PDF report of the finished run in RUN_DIRS (one folder; its chunks are
    checked first), or with --summary one PDF with the verdict of every experiment found.

    The folder may also be one `tailrisk run` wrote for an experiment (it holds verdict.json:
    a run folder, a study's or a network's <run.name>-<config hash>/ folder, a replay's): the
    report is then the one the suite writes, claim page first.
    """
    from .report import build_report
    from .runner import load_run

    if summary:
        _summary(run_dirs or (Path("runs"),), output or Path("reports") / "summary.pdf")
        return
    if len(run_dirs) != 1:
        raise click.UsageError("give one RUN_DIR (or --summary with any number)")
    run_dir = run_dirs[0]

    ctx.meta[RUN_DIR_KEY] = run_dir
    from .studies.suite import VERDICT_FILE, report_again

    if (run_dir / VERDICT_FILE).exists():  # an experiment of `tailrisk run`: its same PDF
        outcome = report_again(run_dir, output or run_dir / "report.pdf",
                               notify=lambda m: click.echo(m, err=True))
        verdict = outcome.verdict.outcome if outcome.verdict is not None else "no claim"
        click.echo(f"{outcome.name}: {verdict}; report: {outcome.pdf}")
        return
    result = load_run(run_dir)
    pdf = build_report(result, output or run_dir / "report.pdf")
    click.echo(f"report: {pdf}")


# ----------------------------------------------------------------------------- issue 15: a folder
# of experiments with claims and verdicts, the summary PDF, the run index


def _has_study(path: Path) -> bool:
    """Whether the TOML file has a [study] table (then the suite runs it); False if unreadable
    (the normal path reports why)."""
    import tomllib

    try:
        return "study" in tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def _suite_claim(path: Path) -> bool:
    """Whether the TOML file has a [claim] only the suite can decide: on a network of venues,
    on options ([pricing]) or on a replay ([replay]); False if unreadable."""
    import tomllib

    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return "claim" in doc and any(k in doc for k in ("venues", "pricing", "replay"))


def _run_suite(source: Path, out: Path, reports: Path | None, n_paths: int | None,
               resume: bool, quiet: bool) -> None:
    """``tailrisk run FOLDER`` (or one file with a [study]): each experiment, its verdict and
    PDF; exit code 1 when any failed."""
    from .studies.suite import Outcome, Skipped, run_folder, run_one

    def said(o) -> None:
        if o.status == "skipped":
            click.echo(f"{o.name}: skipped ({o.error})")
            return
        if o.status == "failed":
            click.echo(f"{o.name}: FAILED ({o.seconds:.1f} s): {o.error}", err=True)
            return
        verdict = o.verdict.outcome if o.verdict is not None else "no claim"
        click.echo(f"{o.name}: {verdict} ({o.seconds:.1f} s); report: {o.pdf}")

    kw = {"paths": n_paths, "resume": resume, "progress": not quiet,
          "notify": lambda m: click.echo(m, err=True)}
    if source.is_dir():
        outcomes = run_folder(source, out, reports, on_outcome=said, **kw)
    else:
        try:
            outcomes = [run_one(source, out, reports, **kw)]
        except Skipped as why:  # the replay without its data
            outcomes = [Outcome(source.stem, str(source), "skipped", error=str(why))]
        said(outcomes[0])
    failed = [o.name for o in outcomes if o.status == "failed"]
    ran = [o for o in outcomes if o.status != "skipped"]
    click.echo(f"{len(ran)} experiment(s), {len(failed)} failed"
               + (f": {', '.join(failed)}" if failed else ""))
    if failed:
        sys.exit(EXIT_FAILED)


def _summary(folders: tuple[Path, ...], output: Path) -> None:
    from .report.summary import build_summary
    from .studies.suite import read_verdicts

    records = read_verdicts(list(folders))
    pdf = build_summary(records, output)
    from .report.summary import outcome_of

    for r in records:
        click.echo(f"{r['name']}: {outcome_of(r)}")
    click.echo(f"summary of {len(records)} experiment(s): {pdf}")


@main.group("runs")
def runs_group() -> None:
    """Run folders: `runs list` shows those in --out, `runs compare` two, metric by metric."""


@runs_group.command("list")
@click.option("--out", default="runs", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder of run folders.")
def runs_list_cmd(out: Path) -> None:
    """Every run folder in OUT: name, config hash, date, size, status."""
    from .run_index import list_runs, runs_table

    click.echo(format_table(runs_table(list_runs(out))))


@runs_group.command("compare")
@click.argument("run_a", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("run_b", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--sigma", default=3.0, show_default=True, type=click.FloatRange(min=0),
              help="Flag a difference beyond this many standard errors.")
def runs_compare_cmd(run_a: Path, run_b: Path, sigma: float) -> None:
    """Each metric of RUN_B minus RUN_A with its Monte Carlo error; '*' where significant."""
    from .run_index import compare_runs, comparison_rows

    rows = compare_runs(run_a, run_b, sigma=sigma)
    click.echo(f"B - A with one standard error (paired when the runs share their price "
               f"paths); * beyond {sigma:g} sigma")
    click.echo(format_table(comparison_rows(rows)))
    flagged = sum(r.flagged for r in rows)
    click.echo(f"{flagged} of {len(rows)} metric(s) differ significantly")


@main.command("verify")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
def verify_cmd(run_dir: Path) -> None:
    """Check a run folder: its manifest, and every chunk against its SHA-256 checksum.

    Lists each chunk that is missing, truncated or damaged, one a line, and exits with code 1;
    running the same `tailrisk run` command recomputes them (bit for bit). Exit code 0 when the
    folder is sound and complete. Nothing is written.
    """
    from .run_store import verify_run

    found = verify_run(run_dir)
    for line in found.problems:
        click.echo(line)
    for line in found.notes:
        click.echo(f"note: {line}")
    manifest_totals = _nonfinite_summary(found.manifest)
    if found.sound:
        bad, outputs = manifest_totals
        nonfinite = (
            f"; {bad:,} paths with non-finite outputs ({', '.join(outputs)})" if bad else ""
        )
        click.echo(f"{run_dir}: sound ({len(found.chunks)} chunks){nonfinite}")
        return
    click.echo(
        f"{run_dir}: {len(found.problems)} problem(s); run the same `tailrisk run` command to "
        "recompute what is damaged or missing"
    )
    sys.exit(EXIT_FAILED)


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
        if _is_network_file(path):  # several venues (docs/contagion.md)
            from .config.network import load_network_config

            try:
                load_network_config(path)
            except ConfigError as err:
                click.echo(str(err), err=True)
                bad = True
            else:
                click.echo(f"{path}: ok (a network of venues)")
            continue
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
            continue
        memory = _memory_line(exp, path)
        if memory is None:
            bad = True
            continue
        click.echo(f"{path}: ok")
        click.echo(f"  {memory}")
    if bad:
        sys.exit(EXIT_BAD_CONFIG)


def _memory_line(exp: Any, path: Path) -> str | None:
    """The chunk's memory estimate against the host's memory (validate-config imports no JAX,
    so an accelerator's memory is checked by `tailrisk run`); None after printing the error
    when a chunk does not fit."""
    from ._memory import check_experiment, describe, machine_memory

    budget = machine_memory()
    try:
        est = check_experiment(exp, budget, str(path))
    except ConfigError as err:
        click.echo(str(err), err=True)
        return None
    return describe(exp, est, budget)


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


def _int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise click.BadParameter(f"{text!r}: give positive integers separated by commas",
                                 param_hint=option)
    return values


@main.command("bench")
@click.option(
    "--what",
    type=click.Choice(("paths", "venue", "memory", "contagion", "verdict", "pricing",
                       "all")),
    default="all",
    show_default=True,
    help="Which kernels to time; all: paths and venue. memory (the chunk memory estimate "
    "against measured peaks), contagion, verdict (deciding a claim) and pricing run only when "
    "named.",
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
@click.option("--memory-sizes", default="10000,40000,160000", show_default=True,
              callback=lambda ctx, param, v: _int_list(v, "--memory-sizes"),
              help="Memory benchmark: chunk sizes (paths, comma-separated).")
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the rows as JSON here.",
)
@click.option("--scaling", is_flag=True,
              help="Instead: throughput on 1, 2, 4 forced host devices and 1, 2 local "
                   "processes (subprocesses; --paths, --steps, --accounts, --chunk, --repeats, "
                   "one --policy).")
def bench_cmd(what: str, n_paths: int, steps: int, n_accounts: int, chunk: int, repeats: int,
              policies: tuple[str, ...], curve: bool, block: int | None, compact: int | None,
              rows_budget_mib: int | None, warmup: str, schedule: str,
              memory_sizes: tuple[int, ...], json_out: Path | None,
              scaling: bool = False) -> None:
    """Time tailrisk's kernels on this machine's JAX device: the price samplers and the venue
    kernel, and on request the memory estimate, contagion, verdicts or pricing (--what), or
    devices and processes (--scaling). Measured figures: docs/benchmarks.md.

    Each figure is the median of several timed calls after one warm-up (compile) call. The
    kernel knobs (--block, --compact, --rows-budget, --schedule) never change the numbers, only
    the time (--block: the last bit at most); their defaults depend on the device (CPU or GPU).
    """
    import jax

    from .runner import _environment

    env = _environment()
    click.echo(f"jax {env['jax']} on {jax.default_backend()}: {', '.join(env['jax_devices'])}")
    out: dict[str, Any] = {"environment": env, "paths": n_paths, "steps": steps}
    if scaling:
        _bench_scaling(out, n_paths, steps, n_accounts, chunk, repeats, policies, json_out)
        return
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
    if what == "memory":
        from ._memory_bench import bench_memory

        # its own default sizes (the kernels' defaults would take 10 GiB at 160,000 paths)
        ctx = click.get_current_context()
        if ctx.get_parameter_source("steps") is click.core.ParameterSource.DEFAULT:
            steps = 90
        if ctx.get_parameter_source("n_accounts") is click.core.ParameterSource.DEFAULT:
            n_accounts = 2_000
        click.echo(f"\nchunk memory, estimate against peak resident memory, {steps} steps x "
                   f"{n_accounts:,} accounts (each size run twice: compiling, then cached):")
        mem_rows = bench_memory(sizes=memory_sizes, steps=steps, accounts=n_accounts,
                                on_row=lambda r: click.echo(f"  {r['chunk_paths']:,} paths: "
                                                            "done", err=True))
        click.echo(format_table(mem_rows))
        out["memory_rows"] = mem_rows
    if what == "contagion":  # not in "all": minutes at its default size
        from .contagion.bench import bench_contagion

        click.echo(f"\ncontagion: 10 venues, 100 linked entities, {n_paths:,} paths x {steps} "
                   f"steps x {n_accounts:,} accounts a venue, chunks of {chunk:,}")
        rows = bench_contagion(n_paths=n_paths, chunk=chunk, steps=steps, n_accounts=n_accounts,
                               repeats=repeats, on_row=lambda r: click.echo(
                                   f"  {r['case']}: {r['seconds']:.3f} s", err=True))
        click.echo(format_table(rows))
        out["contagion_rows"] = rows
    if what == "verdict":  # issue 15: what deciding a claim costs (not part of "all")
        from .studies.verdict_bench import bench_verdict

        rows = bench_verdict(n_paths=n_paths, repeats=repeats)
        click.echo(f"\nverdicts, {n_paths:,} paths, paired bootstrap (medians):")
        click.echo(format_table(rows))
        out["verdict_rows"] = rows
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


def _bench_scaling(out: dict[str, Any], n_paths: int, steps: int, n_accounts: int, chunk: int,
                   repeats: int, policies: tuple[str, ...], json_out: Path | None) -> None:
    """``bench --scaling`` (issue 13): one row per device or process count."""
    from .scale._bench import bench_scaling

    policy = policies[0] if policies else "queue_bitmex"
    click.echo(f"\nscaling, {n_paths:,} paths x {steps} steps x {n_accounts:,} accounts, chunks "
               f"of {chunk:,}, policy {policy}, medians of {repeats} passes:")

    def progress(row: dict[str, Any]) -> None:
        click.echo(f"  {row['setting']} {row['count']} ({row['note']}): {row['seconds']:.3f} s",
                   err=True)

    rows = bench_scaling(n_paths=n_paths, steps=steps, n_accounts=n_accounts, chunk=chunk,
                         repeats=repeats, policy=policy, on_row=progress)
    click.echo(format_table([{k: r[k] for k in ("setting", "count", "note", "seconds",
                                                 "path_steps_per_s", "ratio_to_best_single",
                                                 "efficiency")} for r in rows]))
    out["scaling_rows"] = rows
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
@_distributed_options
def compare_policies_cmd(
    config: Path, policies: tuple[str, ...], paths: int | None, out: Path, **scale_opts: Any
) -> None:
    """Run every ADL policy on the same price paths and compare solvency and fairness."""
    from .runner import run_dir_for
    from .studies.policy_comparison import compare_policies_run, comparison_table

    exp = _load_or_exit(config)
    group = _scale_kwargs(scale_opts)["group"]
    try:
        if group.count > 1:  # the policies spread over the processes (tailrisk.scale)
            from .scale import compare_policies_distributed

            comp, _ = compare_policies_distributed(exp, policies or POLICIES, paths=paths,
                                                   group=group)
        else:
            comp, _ = compare_policies_run(exp, policies or POLICIES, paths=paths)
    except ConfigError as err:
        _config_error(err)
    if not group.writer:
        return
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
@_distributed_options
def sweep_cmd(config: Path, sets: tuple[str, ...], paths: int | None, out: Path,
              **scale_opts: Any) -> None:
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
    group = _scale_kwargs(scale_opts)["group"]
    try:
        if group.count > 1:  # the grid points spread over the processes (tailrisk.scale)
            from .scale import run_sweep_distributed

            res = run_sweep_distributed(exp, grid, metrics, path, group=group, paths=paths)
        else:
            res = run_sweep(exp, grid, metrics, path, paths=paths)
    except ConfigError as err:
        _config_error(err)
    if not group.writer:
        return
    click.echo(format_table(sweep_table(res)))
    click.echo(f"tidy table: {path}")


@main.command("venue-risk")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--budget", type=float, required=True, help="Haircut budget at the ES level, USD.")
@click.option("--side", type=click.Choice(("long", "short")), required=True,
              help="Side of the position (entered at model.s0).")
@click.option("--leverage", type=float, default=10.0, show_default=True,
              help="Initial leverage of the position.")
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
@click.option("--drop", default=0.2, show_default=True,
              help="The model crash's fall, a share of the price (0.2: 20%).")
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

# ----------------------------------------------------------------------------- issue 14: many
# venues linked by hedgers, custodians, credit lines and runs (tailrisk/contagion/)


def _is_network_file(path: Path) -> bool:
    """Whether ``path`` is a network file (it has a ``[venues]`` table); False if unreadable."""
    import tomllib

    from .config.network import is_network_document

    try:
        return is_network_document(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


@main.command("contagion")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@_OUT_OPTION
@click.option("--cut-links", is_flag=True,
              help="Cut every link (the baseline: the same venues in isolation, same paths).")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Write report.pdf (the contagion pages) into the run folder.")
def contagion_cmd(config: Path, out: Path, cut_links: bool, report: bool) -> None:
    """Simulate the network in CONFIG (venues, hedgers, custodians, credit lines, runs), clear
    the links on every path and print P(k venues fail), systemic loss and amplification (USD).

    Writes <out>/<run.name>-<config hash>/: network.npz (per-path arrays), summary.json,
    manifest.json and report.pdf, each atomically. See docs/contagion.md.
    """
    from .config.network import load_network_config, parse_network_config

    try:
        exp = load_network_config(config)
        if cut_links:
            data = exp.to_dict()
            data.setdefault("network", {})["links"] = False
            exp = parse_network_config(data, f"{config} (--cut-links)")
    except ConfigError as err:
        _config_error(err)
    from .contagion import network_summary, run_network, summary_lines
    from .contagion._store import save_network_run

    result = run_network(exp, progress=True)
    summary = network_summary(result)
    run_dir = save_network_run(result, out, summary)
    click.echo("\n".join(summary_lines(summary)))
    click.echo(f"simulation and clearing: {result.wall_s:.1f} s")
    if report:
        from .report.contagion import build_network_report

        click.echo(f"report: {build_network_report(result, run_dir / 'report.pdf')}")
    click.echo(f"run folder: {run_dir}")


# ----------------------------------------------------------------------------- replay


@main.command("replay")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--paths", type=click.IntRange(min=1), help="Monte Carlo paths (default run.paths).")
@_OUT_OPTION
@click.option("--report/--no-report", default=True, show_default=True,
              help="Write report.pdf into the run folder.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the table and the paths.")
@click.pass_context
def replay_cmd(ctx: click.Context, config: Path, paths: int | None, out: Path, report: bool,
               quiet: bool) -> None:
    """Replay the recorded 2025-10-10 crash through the venue of CONFIG (a [replay] table).

    Writes OUT/<run.name>-<config hash>/replay.json (the comparison with what Hyperliquid
    recorded), replay.npz and report.pdf. `tailrisk run CONFIG` does the same. Needs the shared
    data (TAILRISK_SHARED_DATA or replay.data; docs/replay.md).
    """
    from .config import parse_config
    from .runner import run_dir_for
    from .studies.replay import run_replay, write_replay

    exp = _load_or_exit(config)
    if exp.replay is None:
        raise click.UsageError(f"{config}: no [replay] table (see docs/replay.md)")
    if paths is not None:
        data = exp.to_dict()
        data["run"].update(paths=paths, chunk_size=min(exp.run.chunk_size, paths))
        try:
            exp = parse_config(data, f"{config} with --paths {paths}")
        except ConfigError as err:
            _config_error(err)
    run_dir = run_dir_for(exp, out)
    ctx.meta[RUN_DIR_KEY] = run_dir
    say = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    try:
        res = run_replay(exp, progress=say, store=run_dir)  # its chunks resume a rerun
    except FileNotFoundError as err:
        raise click.ClickException(str(err)) from None
    write_replay(res, run_dir)
    rows = [{"metric": r["metric"], "recorded": r["recorded"], "model": r["model_recorded_path"],
             "MC median": r["mc_median"], "MC 5%": r["mc_p05"], "MC 95%": r["mc_p95"],
             "unit": r["unit"]} for r in res.comparison()]
    click.echo(format_table(rows))
    for r in res.comparison():
        click.echo(f"why ({r['metric']}): {r['why']}")
    click.echo(f"replay complete ({res.timings['total_s']:.1f} s): {run_dir}")
    if report:
        from .report.replay import build_replay_report

        click.echo(f"report: {build_replay_report(res, run_dir / 'report.pdf')}")


if __name__ == "__main__":  # pragma: no cover
    main()
