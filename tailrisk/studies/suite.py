"""A folder of experiments: run each, decide its claim, write its PDF; and the study runs.

``tailrisk run experiments/`` calls :func:`run_folder`: every ``*.toml`` in the folder that has
a ``[claim]`` table, in sorted order, goes through :func:`run_one` (the others are listed as
skipped). An experiment is one run, or, with a ``[study]``
table, one run per variant (:func:`tailrisk.config.variant_points`), each resumable by its own
config hash in ``--out``. When the runs are complete the claim is decided
(:mod:`tailrisk.studies.verdict`), ``verdict.json`` is written into the experiment's folder (the
run folder, or ``<run.name>-<config hash>/`` of the study), each run's per-path table into its
folder (:mod:`tailrisk.run_table`), and the report into ``<reports>/<file stem>.pdf``
(atomically). A repeated call finds every chunk on disk and the report up to date and
recomputes nothing. An experiment that fails is reported and the others go on.

Three kinds of experiment take another road to the same verdict (:func:`run_one` dispatches):

- a file with a ``[pricing]`` table: after the run, the damped assets of its probes are
  simulated on the same paths (:func:`tailrisk.pricing.api.price_options`), kept in the run
  folder (``damped_assets.npz`` and the pricing tables) and given to the verdict's world;
- a network file (``[venues]``, docs/contagion.md): run twice on the same paths, with its links
  (world ``linked``) and with every link cut (world ``cut``), each in its own run folder;
- a file with a ``[replay]`` table (docs/replay.md): the replay of recorded prices, its Monte
  Carlo resumable by chunks in the run folder; without the shared data it is skipped with a
  one-line reason (:class:`Skipped`), and a ``verdict.json`` saying "not run" is left for the
  summary.
"""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError, Experiment, config_hash, load_config, parse_config
from ..config.experiment import variant_points
from .verdict import MetricValue, Verdict, World, decide, evaluate, world_of

__all__ = [
    "NOT_RUN",
    "STUDY_TABLE",
    "VERDICT_FILE",
    "Outcome",
    "Skipped",
    "StudyData",
    "experiment_files",
    "read_verdicts",
    "report_again",
    "run_folder",
    "run_one",
    "with_paths",
]

VERDICT_FILE = "verdict.json"
STUDY_FILE = "study.json"
#: the per-path damped assets of a pricing experiment, in its run folder
ASSETS_FILE = "damped_assets.npz"
#: the outcome a summary shows for an experiment the suite could not run
NOT_RUN = "not run"


class Skipped(Exception):
    """An experiment that cannot run here (its data are absent): the message says why."""
#: metrics of the table page of each kind of study (venue metrics, see config/claim.py)
STUDY_TABLE = {
    "policy_comparison": ("p_insolvent", "p_adl", "mean_net_insolvent_debt",
                          "mean_haircut[sides]", "damping_ratio[sides]", "p_winner_touched",
                          "mean_max_haircut_pct", "mean_gini_haircut"),
    "sweep": ("p_insolvent", "p_adl", "p_fund_exhausted", "mean_haircut[sides]"),
    "frontier": ("p_insolvent", "p_adl", "mean_net_insolvent_debt"),
    "variants": ("p_insolvent", "p_adl", "p_fund_exhausted", "mean_net_insolvent_debt",
                 "mean_shortfall", "mean_haircut[sides]", "q99_haircut[sides]",
                 "mean_liquidated_notional"),
}


@dataclass(frozen=True)
class StudyData:
    """What a study's pages show: per variant label, each table metric's value and error."""

    kind: str
    metric: str
    labels: tuple[str, ...]
    assignments: tuple[dict[str, Any], ...]
    table: dict[str, dict[str, MetricValue]]
    #: variants only: each table metric's ratio to the first variant, per label
    ratios: dict[str, dict[str, MetricValue]] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Outcome:
    """What happened to one experiment file."""

    name: str
    source: str
    status: str  # "ok", "failed" or "skipped"
    verdict: Verdict | None = None
    pdf: Path | None = None
    folder: Path | None = None
    error: str = ""
    seconds: float = 0.0
    run_dirs: tuple[Path, ...] = ()


def experiment_files(folder: str | Path) -> list[Path]:
    """The ``*.toml`` files directly in ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).glob("*.toml") if p.is_file())


def with_paths(exp: Experiment, paths: int, source: str = "--paths") -> Experiment:
    """``exp`` with ``run.paths = paths`` (and the chunk size cut to it), validated again."""
    data = exp.to_dict()
    data["run"]["paths"] = paths
    data["run"]["chunk_size"] = min(int(data["run"].get("chunk_size", paths)), paths)
    return parse_config(data, f"<{source} {paths}>")


def _study_dir(exp: Experiment, out: Path) -> Path:
    return Path(out) / f"{exp.run.name}-{config_hash(exp)}"


def study_data(exp: Experiment, worlds: dict[str, World]) -> StudyData:
    """The table of a study: every :data:`STUDY_TABLE` metric of its kind for every variant."""
    study = exp.study
    assert study is not None
    labels = study.labels()
    metrics = list(dict.fromkeys((study.metric, *STUDY_TABLE[study.kind])))
    exprs = [f"{m}@{lb}" for lb in labels for m in metrics]
    resamples = exp.claim.resamples if exp.claim is not None else 200
    values = evaluate(exprs, worlds, resamples=resamples, seed=exp.run.seed)
    table: dict[str, dict[str, MetricValue]] = {lb: {} for lb in labels}
    for expr, v in zip(exprs, values, strict=True):
        m, lb = expr.rsplit("@", 1)
        table[lb][m] = v
    ratios: dict[str, dict[str, MetricValue]] = {}
    if study.kind == "variants":
        base = labels[0]
        rexprs = [f"{m}@{lb} / {m}@{base}" for lb in labels[1:] for m in metrics]
        rvals = evaluate(rexprs, worlds, resamples=resamples, seed=exp.run.seed)
        for expr, v in zip(rexprs, rvals, strict=True):
            m, lb = expr.split(" / ")[0].rsplit("@", 1)
            ratios.setdefault(lb, {})[m] = v
    return StudyData(study.kind, study.metric, tuple(labels),
                     tuple(a for _, a in study.assignments()), table, ratios)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_one(
    source: str | Path,
    out: str | Path,
    reports: str | Path | None,
    *,
    paths: int | None = None,
    resume: bool = True,
    progress: bool = False,
    notify: Callable[[str], None] | None = None,
    config: Any = None,
    pdf: str | Path | None = None,
    record: bool = True,
) -> Outcome:
    """Run one experiment file (all its variants), decide its claim, write its report.

    config: the validated experiment (an :class:`~tailrisk.config.Experiment` or a network
    experiment) instead of reading ``source``, which then only names it. pdf: where the report
    goes (default ``<reports>/<file stem>.pdf``; None and no ``reports``: no report). record:
    write ``verdict.json`` (``tailrisk report`` leaves the suite's record as it is).

    Raises what the runs raise (a bad config: :class:`ConfigError`); :func:`run_folder` turns
    that into a failed :class:`Outcome`.
    """
    from .._atomic import atomic_write
    from ..config.network import NetworkExperiment
    from ..run_table import write_run_table
    from ..runner import run_experiment

    t0 = time.perf_counter()
    source = Path(source)
    if pdf is None and reports is not None:
        pdf = Path(reports) / f"{source.stem}.pdf"
    pdf = Path(pdf) if pdf is not None else None
    if isinstance(config, NetworkExperiment) or (config is None and _is_network(source)):
        return _run_network_one(source, config, out, pdf, paths=paths, resume=resume,
                                notify=notify, t0=t0, record=record)
    exp = config if config is not None else load_config(source)
    if paths is not None:
        exp = with_paths(exp, paths)
    if exp.replay is not None:
        return _run_replay_one(source, exp, out, pdf, resume=resume, notify=notify, t0=t0,
                               record=record)
    points = variant_points(exp) or [(None, {}, exp)]
    results = {}
    for label, _, vexp in points:
        res = run_experiment(vexp, out, resume=resume, progress=progress, notify=notify)
        write_run_table(res)
        results[label] = res
    base = next(iter(results.values()))
    folder = _study_dir(exp, Path(out)) if exp.study is not None else base.run_dir
    digest = config_hash(exp)
    cached = _up_to_date(source, folder, digest, pdf, resume, t0)
    if cached is not None:
        return cached
    worlds: dict[str | None, World] = {lb: world_of(r) for lb, r in results.items()}
    if exp.pricing is not None:  # the probes' damped assets on the same paths
        worlds = {lb: dataclasses.replace(w, options=_damped_assets(results[lb]))
                  for lb, w in worlds.items()}
    worlds[None] = worlds[next(iter(results))]
    verdict = decide(exp.claim, worlds, seed=exp.run.seed) if exp.claim is not None else None
    study = study_data(exp, worlds) if exp.study is not None else None
    if pdf is not None:
        from ..report import build_report

        extra = {"experiment": exp, "claim": exp.claim, "verdict": verdict, "study": study,
                 "source": source.name}
        build_report(dataclasses.replace(base, extra=extra), pdf)
    dirs = [str(r.run_dir) for r in results.values()]
    if exp.study is not None:
        folder.mkdir(parents=True, exist_ok=True)
        blob = json.dumps({"config": exp.to_dict(), "config_hash": digest, "run_dirs": dirs},
                          indent=2, sort_keys=True)
        atomic_write(folder / STUDY_FILE, lambda fh: fh.write((blob + "\n").encode()))
    kind = "study" if exp.study is not None else "pricing" if exp.pricing else "run"
    if record:
        _write_record(folder, _record(source, exp, digest, kind, verdict, dirs, pdf, study))
    return Outcome(source.stem, str(source), "ok", verdict, pdf, folder, "",
                   time.perf_counter() - t0, tuple(r.run_dir for r in results.values()))


def _damped_assets(res: Any) -> Any:
    """The damped assets of a pricing run (:class:`tailrisk.pricing.DampedAssets`): read from
    the run folder, or simulated on the run's paths and written there with the pricing tables
    (which the report's pricing pages read)."""
    import numpy as np

    from .._atomic import atomic_write
    from ..pricing._damped_assets import DampedAssets

    path = Path(res.run_dir) / ASSETS_FILE
    fields = ("maturities", "undamped", "damped", "entitled", "probe_side", "probe_leverage",
              "probe_entry", "path_index")
    exp = res.experiment
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                arr = {k: z[k] for k in z.files}
            if str(arr["config_hash"]) == res.config_hash:
                return DampedAssets(
                    steps=tuple(int(k) for k in arr["steps"]),
                    probe_names=tuple(str(p) for p in arr["probe_names"]),
                    s0=float(arr["s0"]), r=float(arr["r"]), model=exp.model,
                    antithetic=bool(arr["antithetic"]), **{k: arr[k] for k in fields})
        except (OSError, ValueError, KeyError):
            pass  # damaged or from another config: simulated again below
    from ..pricing.api import price_options

    priced = price_options(exp, paths=exp.run.paths)
    priced.write(res.run_dir)
    a = priced.assets
    arrays = {k: np.asarray(getattr(a, k)) for k in fields}
    arrays.update(steps=np.asarray(a.steps), probe_names=np.asarray(a.probe_names, str),
                  s0=np.asarray(a.s0), r=np.asarray(a.r), antithetic=np.asarray(a.antithetic),
                  config_hash=np.asarray(res.config_hash))
    atomic_write(path, lambda fh: np.savez(fh, **arrays), suffix=".npz")
    return a


def report_again(folder: str | Path, pdf: str | Path, *,
                 notify: Callable[[str], None] | None = None) -> Outcome:
    """Write the report of an experiment the suite ran, from its folder (a run folder, a study
    or network folder ``<run.name>-<config hash>/``, or a replay's run folder, each holding the
    suite's ``verdict.json``) to ``pdf``: the same PDF as ``tailrisk run`` writes. The runs are
    found on disk beside the folder (nothing is simulated again that is complete there)."""
    from ..config.network import is_network_document, parse_network_config

    folder = Path(folder)
    record = _read_json(folder / VERDICT_FILE)
    if record is None:
        raise ConfigError(str(folder / VERDICT_FILE), ["not found or unreadable: the folder "
                                                       "was not written by `tailrisk run`"])
    data = record.get("config")
    if data is None:  # a record of an older suite: the study's or the run's own config
        for name in (STUDY_FILE, "manifest.json"):
            found = _read_json(folder / name)
            if found is not None and "config" in found:
                data = found["config"]
                break
    if data is None:
        raise ConfigError(str(folder), ["no config found (verdict.json, study.json or "
                                        "manifest.json)"])
    source = folder / record.get("source", f"{folder.name}.toml")
    if is_network_document(data):
        exp = parse_network_config(data, str(folder / VERDICT_FILE))
    else:
        exp = parse_config(data, str(folder / VERDICT_FILE))
    return run_one(source, folder.parent, None, config=exp, pdf=pdf, notify=notify,
                   record=False)


def _is_network(path: Path) -> bool:
    """Whether ``path`` is a network file (a ``[venues]`` table); False if unreadable."""
    import tomllib

    from ..config.network import is_network_document

    try:
        return is_network_document(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return False


def _up_to_date(source: Path, folder: Path, digest: str, pdf: Path | None, resume: bool,
                t0: float) -> Outcome | None:
    """The outcome recorded in ``folder`` when its verdict and PDF are those of this config
    (a repeated ``tailrisk run`` then does nothing), else None."""
    old = _read_json(folder / VERDICT_FILE)
    if not (resume and old is not None and old.get("config_hash") == digest
            and pdf is not None and pdf.exists() and old.get("pdf") == str(pdf)):
        return None
    verdict = Verdict.from_dict(old["verdict"]) if old.get("verdict") else None
    dirs = tuple(Path(d) for d in old.get("run_dirs", ()))
    return Outcome(source.stem, str(source), "ok", verdict, pdf, folder, "",
                   time.perf_counter() - t0, dirs)


def _record(source: Path, exp: Any, digest: str, kind: str, verdict: Verdict | None,
            run_dirs: list[str], pdf: Path | None, study: StudyData | None = None
            ) -> dict[str, Any]:
    """The ``verdict.json`` record of an experiment (the summary and ``tailrisk report`` read
    it; ``config`` lets the report find and rebuild everything)."""
    return {"name": source.stem, "source": source.name, "run_name": exp.run.name,
            "config_hash": digest, "paths": exp.run.paths, "kind": kind,
            "config": exp.to_dict(),
            "verdict": verdict.to_dict() if verdict is not None else None,
            "study": study.to_dict() if study is not None else None,
            "run_dirs": run_dirs, "pdf": str(pdf) if pdf is not None else None}


def _write_record(folder: Path, record: dict[str, Any]) -> None:
    from .._atomic import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    record = {**record, "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    blob = json.dumps(record, indent=2, sort_keys=True, default=str)
    atomic_write(folder / VERDICT_FILE, lambda fh: fh.write((blob + "\n").encode()))


def network_worlds(exp: Any) -> list[tuple[str, Any]]:
    """``[(world, network experiment)]`` of a network claim: the file without its claim
    (``linked``) and the same with every link cut (``cut``); see :func:`network_world`."""
    from ..config.network import parse_network_config

    data = exp.to_dict()
    data.pop("claim", None)
    linked = parse_network_config(data, "<linked>")
    data.setdefault("network", {})["links"] = False
    cut = parse_network_config(data, "<links cut>")
    return [("linked", linked), ("cut", cut)]


def network_world(result: Any) -> World:
    """The :class:`World` of a network run: per path, which venues failed and the systemic
    loss (USD, :func:`tailrisk.contagion.systemic_loss` of the run as it was cleared)."""
    from ..contagion import systemic_loss

    loss, _ = systemic_loss(result.paths)
    return World(venue=None, per_path={},
                 network={"failed": result.paths["failed"], "systemic_loss": loss})


def _run_network_one(source: Path, exp: Any, out: str | Path, pdf: Path | None, *,
                     paths: int | None, resume: bool, notify: Callable[[str], None] | None,
                     t0: float, record: bool = True) -> Outcome:
    """A network file with a claim: the linked and the cut run on the same paths, the verdict,
    the contagion pages with the claim page first."""
    from ..config.network import load_network_config, network_config_hash, parse_network_config
    from ..contagion import network_summary, run_network
    from ..contagion._store import load_network_run, network_run_dir, save_network_run

    exp = exp if exp is not None else load_network_config(source)
    if paths is not None:
        data = exp.to_dict()
        data["run"].update(paths=paths, chunk_size=min(exp.run.chunk_size, paths))
        exp = parse_network_config(data, f"<{source} with --paths {paths}>")
    digest = network_config_hash(exp)
    folder = Path(out) / f"{exp.run.name}-{digest}"
    cached = _up_to_date(source, folder, digest, pdf, resume, t0)
    if cached is not None:
        return cached
    runs = network_worlds(exp)
    results = {}
    for label, nexp in runs:
        run_dir = network_run_dir(nexp, out)
        result = None
        if resume and (run_dir / "network.npz").exists():
            try:
                result = load_network_run(run_dir)
            except (OSError, ValueError, KeyError):
                result = None
            if result is not None and result.config_hash != network_config_hash(nexp):
                result = None
        if result is None:
            if notify is not None:
                notify(f"{source.stem}: network run, {label}")
            result = run_network(nexp)
            save_network_run(result, out, network_summary(result))
        results[label] = (result, run_dir)
    worlds: dict[str | None, World] = {lb: network_world(r) for lb, (r, _) in results.items()}
    worlds[None] = worlds["linked"]
    verdict = decide(exp.claim, worlds, seed=exp.run.seed) if exp.claim is not None else None
    linked = results["linked"][0]
    if pdf is not None:
        from ..report.contagion import build_network_report

        linked.extra = {"experiment": exp, "claim": exp.claim, "verdict": verdict,
                        "source": source.name}
        build_network_report(linked, pdf)
    dirs = [str(d) for _, d in results.values()]
    if record:
        _write_record(folder, _record(source, exp, digest, "network", verdict, dirs, pdf))
    return Outcome(source.stem, str(source), "ok", verdict, pdf, folder, "",
                   time.perf_counter() - t0, tuple(Path(d) for d in dirs))


def replay_world(res: Any) -> World:
    """The :class:`World` of a replay: the conditioned Monte Carlo's per-path venue outputs
    (path 0 the recorded path), and as constants the model on the recorded path and the
    recorded figures (docs/replay.md)."""
    import numpy as np

    from .replay._study import adl_timing, cascade_offset_s

    venue = {k: np.asarray(v, np.float64) for k, v in res.mc.items()}
    venue["adl_events"] = venue["adl_count"]
    rec = res.recorded
    cascade = cascade_offset_s(res.experiment.replay.start, rec)
    timing = adl_timing(res.reference, res.path, cascade, res.venue.policy)
    ref = res.reference
    constants = {
        "path0_liquidated_notional": float(ref.liquidated_notional),
        "path0_adl_notional": float(ref.adl_notional),
        "path0_adl_count": float(ref.adl_count),
        "path0_first_adl_delay_s": float(timing["first_adl_after_recorded_start_s"]),
        "path0_cascade_to_adl_s": float(timing["cascade_to_adl_s"]),
        "recorded_liquidated_notional": float(rec.liquidated_notional_btc),
        "recorded_adl_notional": float(rec.adl_notional_btc),
        "recorded_adl_count": float(rec.adl_events_btc),
        "recorded_first_adl_delay_s": float(rec.first_liquidation_to_adl_s),
    }
    return World(venue=venue, per_path={}, constants=constants)


def _run_replay_one(source: Path, exp: Experiment, out: str | Path, pdf: Path | None, *,
                    resume: bool,
                    notify: Callable[[str], None] | None, t0: float,
                    record: bool = True) -> Outcome:
    """A replay with a claim: the replay (its Monte Carlo resumable by chunks), the verdict,
    the replay's pages with the claim page first. Raises :class:`Skipped` without the data."""
    from ..runner import run_dir_for
    from .replay import run_replay, write_replay
    from .replay._study import replay_data_dir

    try:
        replay_data_dir(exp.replay.data)
    except FileNotFoundError as err:
        where = ("set TAILRISK_SHARED_DATA or replay.data; docs/replay.md"
                 if "no shared data folder" in str(err) else str(err))
        raise Skipped(f"needs the shared data ({where})") from None
    run_dir = run_dir_for(exp, out)
    cached = _up_to_date(source, run_dir, config_hash(exp), pdf, resume, t0)
    if cached is not None:
        return cached
    res = run_replay(exp, progress=notify, store=run_dir if resume else None)
    write_replay(res, run_dir)
    world = replay_world(res)
    verdict = (decide(exp.claim, {None: world}, seed=exp.run.seed)
               if exp.claim is not None else None)
    if pdf is not None:
        from ..report.replay import build_replay_report

        res.extra = {"experiment": exp, "claim": exp.claim, "verdict": verdict,
                     "source": source.name}
        build_replay_report(res, pdf)
    if record:
        _write_record(run_dir, _record(source, exp, config_hash(exp), "replay", verdict,
                                       [str(run_dir)], pdf))
    return Outcome(source.stem, str(source), "ok", verdict, pdf, run_dir, "",
                   time.perf_counter() - t0, (run_dir,))


def _not_run(path: Path, out: str | Path, paths: int | None, reason: str) -> None:
    """Leave a ``verdict.json`` saying the experiment was not run, for the summary."""
    try:
        exp = load_config(path)
        if paths is not None:
            exp = with_paths(exp, paths)
        from ..runner import run_dir_for

        folder = run_dir_for(exp, out)
        if (folder / VERDICT_FILE).exists():
            old = _read_json(folder / VERDICT_FILE) or {}
            if old.get("verdict") is not None:
                return  # a verdict from a run with the data stays
        _write_record(folder, {"name": path.stem, "source": path.name,
                               "run_name": exp.run.name, "config_hash": config_hash(exp),
                               "paths": exp.run.paths, "verdict": None, "status": NOT_RUN,
                               "reason": reason, "run_dirs": [], "pdf": None})
    except (ConfigError, OSError):
        return


def run_folder(
    folder: str | Path,
    out: str | Path,
    reports: str | Path | None,
    *,
    paths: int | None = None,
    resume: bool = True,
    progress: bool = False,
    notify: Callable[[str], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """:func:`run_one` for every experiment file of ``folder`` with a ``[claim]`` table (sorted;
    the others are listed as ``status = "skipped"``: a folder such as ``experiments/`` also holds
    benchmarks and examples). A failure is recorded in its :class:`Outcome` (``status =
    "failed"``, ``error``) and the next file runs."""
    outcomes = []
    for path in experiment_files(folder):
        t0 = time.perf_counter()
        if not _has_claim(path):
            outcome = Outcome(path.stem, str(path), "skipped", error="no [claim] table")
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
            continue
        try:
            outcome = run_one(path, out, reports, paths=paths, resume=resume,
                              progress=progress, notify=notify)
        except Skipped as why:
            outcome = Outcome(path.stem, str(path), "skipped", error=str(why),
                              seconds=time.perf_counter() - t0)
            _not_run(path, out, paths, "needs the shared data")
        except ConfigError as err:
            outcome = Outcome(path.stem, str(path), "failed", error=str(err),
                              seconds=time.perf_counter() - t0)
        except Exception as err:  # one experiment's failure must not stop the others
            last = traceback.extract_tb(err.__traceback__)[-1:]
            where = f" (at {last[0].name}:{last[0].lineno})" if last else ""
            outcome = Outcome(path.stem, str(path), "failed",
                              error=f"{type(err).__name__}: {err}{where}",
                              seconds=time.perf_counter() - t0)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


def _has_claim(path: Path) -> bool:
    """Whether a TOML file has a ``[claim]`` table (an unreadable file counts as having one, so
    that the run reports what is wrong with it)."""
    import tomllib

    try:
        return "claim" in tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True


def read_verdicts(folders: list[Path]) -> list[dict[str, Any]]:
    """The ``verdict.json`` records of ``folders`` (a run or study folder each, or a folder of
    them such as ``runs/``), sorted by experiment name; records without a claim are kept."""
    found: dict[str, dict[str, Any]] = {}
    for folder in folders:
        folder = Path(folder)
        files = [folder / VERDICT_FILE] if (folder / VERDICT_FILE).exists() else sorted(
            folder.glob(f"*/{VERDICT_FILE}"))
        for f in files:
            rec = _read_json(f)
            if rec is None or "name" not in rec:
                continue
            rec["folder"] = str(f.parent)
            prev = found.get(rec["name"])
            if prev is None or rec.get("written", "") >= prev.get("written", ""):
                found[rec["name"]] = rec
    return [found[k] for k in sorted(found)]
