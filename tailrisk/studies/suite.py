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
    "STUDY_TABLE",
    "VERDICT_FILE",
    "Outcome",
    "StudyData",
    "experiment_files",
    "read_verdicts",
    "run_folder",
    "run_one",
    "with_paths",
]

VERDICT_FILE = "verdict.json"
STUDY_FILE = "study.json"
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
) -> Outcome:
    """Run one experiment file (all its variants), decide its claim, write its report.

    Raises what the runs raise (a bad config: :class:`ConfigError`); :func:`run_folder` turns
    that into a failed :class:`Outcome`.
    """
    from .._atomic import atomic_write
    from ..run_table import write_run_table
    from ..runner import run_experiment

    t0 = time.perf_counter()
    source = Path(source)
    exp = load_config(source)
    if paths is not None:
        exp = with_paths(exp, paths)
    points = variant_points(exp) or [(None, {}, exp)]
    results = {}
    for label, _, vexp in points:
        res = run_experiment(vexp, out, resume=resume, progress=progress, notify=notify)
        write_run_table(res)
        results[label] = res
    base = next(iter(results.values()))
    folder = _study_dir(exp, Path(out)) if exp.study is not None else base.run_dir
    digest = config_hash(exp)
    pdf = Path(reports) / f"{source.stem}.pdf" if reports is not None else None
    old = _read_json(folder / VERDICT_FILE)
    if (old is not None and old.get("config_hash") == digest and pdf is not None
            and pdf.exists() and old.get("pdf") == str(pdf) and resume):
        verdict = Verdict.from_dict(old["verdict"]) if old.get("verdict") else None
        return Outcome(source.stem, str(source), "ok", verdict, pdf, folder, "",
                       time.perf_counter() - t0, tuple(r.run_dir for r in results.values()))
    worlds: dict[str | None, World] = {lb: world_of(r) for lb, r in results.items()}
    worlds[None] = world_of(base)
    verdict = decide(exp.claim, worlds, seed=exp.run.seed) if exp.claim is not None else None
    study = study_data(exp, worlds) if exp.study is not None else None
    if pdf is not None:
        from ..report import build_report

        extra = {"experiment": exp, "claim": exp.claim, "verdict": verdict, "study": study,
                 "source": source.name}
        build_report(dataclasses.replace(base, extra=extra), pdf)
    record = {
        "name": source.stem,
        "source": source.name,
        "run_name": exp.run.name,
        "config_hash": digest,
        "paths": exp.run.paths,
        "verdict": verdict.to_dict() if verdict is not None else None,
        "study": study.to_dict() if study is not None else None,
        "run_dirs": [str(r.run_dir) for r in results.values()],
        "pdf": str(pdf) if pdf is not None else None,
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if exp.study is not None:
        folder.mkdir(parents=True, exist_ok=True)
        blob = json.dumps({"config": exp.to_dict(), "config_hash": digest,
                           "run_dirs": record["run_dirs"]}, indent=2, sort_keys=True)
        atomic_write(folder / STUDY_FILE, lambda fh: fh.write((blob + "\n").encode()))
    blob = json.dumps(record, indent=2, sort_keys=True, default=str)
    atomic_write(folder / VERDICT_FILE, lambda fh: fh.write((blob + "\n").encode()))
    return Outcome(source.stem, str(source), "ok", verdict, pdf, folder, "",
                   time.perf_counter() - t0, tuple(r.run_dir for r in results.values()))


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
