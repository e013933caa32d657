"""The methods page of an experiment that states a claim, right after the claim page: what was
simulated, what each metric of the checks and headline means, how the verdict is decided, and
the commands that reproduce it. Built from the experiment's config and its verdict only, so it
is the same for a single run, a study, a network and a replay.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

from . import style
from .format import short, step_text

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

__all__ = ["manifest_page", "methods_lines", "methods_page"]

#: model parameters worth naming (others are defaults a reader can find in the config listing)
_MODEL_KEYS = ("mode", "mu", "r", "sigma", "scale", "nu", "alpha", "lam", "jump_mean",
               "jump_sd", "omega", "garch_alpha", "garch_beta")


def _money(v: float) -> str:
    return f"{short(v)} USD" if abs(v) < 1e3 else f"{v:,.0f} USD"


def _model_line(model: Any) -> str:
    d = model.model_dump()
    params = [f"{k} {d[k]:g}" if isinstance(d[k], (int, float)) else f"{k} {d[k]}"
              for k in _MODEL_KEYS if d.get(k) is not None]
    return f"price model: {d['name']} from {_money(d['s0'])}" + (
        f" ({', '.join(params)})" if params else "")


def _venue_line(name: str, v: Any) -> str:
    pop = v.population
    who = (f"{pop.n_accounts:,} generated accounts" if getattr(pop, "csv", None) in (None, "")
           else "accounts from a CSV file")
    probes = len(getattr(pop, "probes", ()) or ())
    return (f"{name}: policy {v.policy}, checks every {v.check_every} step(s), fund "
            f"{_money(v.fund)}, capital {_money(v.capital)}, depth {_money(v.depth)}, "
            f"impact eta {v.eta:g}; {who}" + (f", {probes} probe(s)" if probes else ""))


def _replay_lines(exp: Any) -> list[str]:
    run, rp, v = exp.run, exp.replay, exp.venue
    mc = (f"a block bootstrap of the recorded minute returns ({rp.block_minutes}-minute blocks)"
          if rp.monte_carlo == "bootstrap" else "the calibrated price model")
    return [f"the recorded {rp.path} mark path from {rp.start} to {rp.end} UTC drives a venue "
            f"with policy {v.policy} and a fund of {_money(v.fund)}; impact from the recorded "
            f"book depth; {rp.n_accounts:,} accounts matched to the recorded liquidations",
            f"around it, {run.paths:,} paths conditioned on the day by {mc}; seed {run.seed}; "
            "path 0 is the recorded path itself"]


def _setup_lines(exp: Any) -> list[str]:
    run = exp.run
    if getattr(exp, "replay", None) is not None:
        return _replay_lines(exp)
    lines = [f"paths: {run.paths:,} in chunks of {run.chunk_size:,}, {run.steps} steps of "
             f"{step_text(run.dt)} ({run.dtype}); seed {run.seed}", _model_line(exp.model)]
    if hasattr(exp, "venues"):  # a network file
        for name, v in exp.venues.items():
            lines.append(_venue_line(f"venue {name}", v))
        links = [f"{len(getattr(exp, k))} {k.replace('_', ' ')}" for k in
                 ("hedgers", "custodians", "firms", "credit_lines", "runs") if getattr(exp, k)]
        lines.append(f"links: {', '.join(links) or 'none'}; clearing {exp.network.clearing}, "
                     f"paths {exp.network.paths}; the claim's worlds: @linked (as written) and "
                     "@cut (every link cut, the same paths)")
        return lines
    if exp.venue is not None:
        lines.append(_venue_line("venue", exp.venue))
    study = getattr(exp, "study", None)
    if study is not None:
        if study.kind == "variants":
            for v in study.variants:
                sets = ", ".join(f"{k} = {val}" for k, val in v.set.items()) or "as written"
                lines.append(f"variant @{v.label}: {sets}")
        elif study.kind == "policy_comparison":
            lines.append(f"study: every policy on the same paths ({', '.join(study.policies)})")
        elif study.kind == "sweep":
            grid = "; ".join(f"{k} in {list(vals)}" for k, vals in study.grid.items())
            lines.append(f"study: a sweep on the same paths, {grid}")
        else:
            lines.append(f"study: {study.kind} of {study.key} over {list(study.values)}")
    pricing = getattr(exp, "pricing", None)
    if pricing is not None:
        mats = ", ".join(f"{m * 365:.4g} d" for m in pricing.maturities)
        strikes = len(pricing.moneyness) or len(pricing.strikes)
        lines.append(f"pricing: {', '.join(pricing.kinds)} at {strikes} strikes, maturities "
                     f"{mats}; control variate "
                     f"{'on' if pricing.control_variate else 'off'}, antithetic "
                     f"{'on' if pricing.antithetic else 'off'}")
    return lines


def _metric_lines(verdict: Any) -> list[str]:
    from ..config.claim import OPTION_METRICS, metric_refs, parse_expression
    from ..config.claim_terms import GROUP_TERMS, describe

    seen: dict[str, str] = {}
    groups: set[str] = set()
    variants = options = False
    exprs = [c.metric.expression for c in verdict.checks]
    exprs += [m.expression for m in verdict.headline]
    for expr in exprs:
        for ref in metric_refs(parse_expression(expr)):
            seen.setdefault(ref.name, f"{ref.name} [{ref.unit or '1'}]: {describe(ref.name)}")
            variants |= ref.variant is not None
            options |= ref.name in OPTION_METRICS
            if ref.group:
                groups.add(ref.group.split(":")[0].split(",")[0].strip())
    lines = list(seen.values())
    for g in sorted(groups):
        if g in GROUP_TERMS:
            lines.append(f"[{g}...]: {GROUP_TERMS[g]}")
    if options:
        lines.append("[probe:NAME, m=K/S0, T=maturity]: an option metric's probe, strike as a "
                     "share of the start price, and maturity (default the longest)")
    if variants:
        lines.append("name@label: the metric in that variant's (or world's) run; the runs "
                     "share their price paths, so a difference is taken path by path")
    return lines


def methods_lines(result: RunResult, verdict: Any) -> dict[str, list[str]]:
    """The page's sections, each a list of sentences (tested without drawing); ``verdict`` is
    the claim's :class:`~tailrisk.studies.verdict.Verdict`."""
    from ..config import config_hash

    extra = result.extra or {}
    exp = extra.get("experiment") or result.experiment
    source = extra.get("source") or f"{exp.run.name}.toml"
    sig = sorted({c.significance for c in verdict.checks})
    rule = "every check must hold" if verdict.combine == "all" else "one check must hold"
    decided = [
        f"Each metric is computed on all {verdict.n_paths:,} paths whose outputs are finite "
        f"and on {verdict.resamples} bootstrap resamples of the paths (seed {exp.run.seed}); "
        "the same resample serves every metric and every run, so paired quantities keep their "
        "correlation. Its standard error is the resamples' standard deviation.",
        f"A check holds when the metric is beyond its threshold by at least "
        f"{' / '.join(f'{s:g}' for s in sig)} standard errors in the stated direction, does not "
        "hold when it is as far on the other side, and is inconclusive in between; "
        f"{rule} for the claim to hold, and one check that does not hold decides against it.",
        "Quantities without a Monte Carlo error (the recorded path, recorded figures) are "
        "decided by their sign or tolerance alone.",
    ]
    reproduce = [
        f"tailrisk run experiments/{source} --out runs   (add --paths N to scale every run)",
        "tailrisk report RUN_FOLDER   (the same PDF again from the folder the run wrote)",
        f"config hash {config_hash(exp)}; the numbers depend on the config and the seed "
        "only, not on the chunk size or the number of devices",
    ]
    return {"What was simulated": _setup_lines(exp),
            "What each number is": _metric_lines(verdict),
            "How the verdict is decided": decided,
            "How to reproduce it": reproduce}


def methods_page(result: RunResult, verdict: Any):
    import matplotlib.pyplot as plt

    sections = methods_lines(result, verdict)
    extra = result.extra or {}
    name = extra.get("source") or result.experiment.run.name
    fig = plt.figure()
    fig.text(0.04, 0.94, f"Methods: {name}", fontsize=style.TITLE_SIZE - 4, weight="bold")
    y = 0.89
    for title, lines in sections.items():
        fig.text(0.04, y, title, fontsize=style.SECTION_SIZE, weight="bold", va="top")
        y -= 0.032
        for line in lines:
            text = textwrap.fill(line, 150, subsequent_indent="   ")
            fig.text(0.05, y, text, fontsize=style.SMALL_SIZE, va="top",
                     family="monospace" if title == "How to reproduce it" else None)
            y -= 0.024 * (text.count("\n") + 1)
        y -= 0.02
    style.footer(fig, result, "methods")
    return fig


def manifest_page(result: Any):
    """The reproducibility manifest of a network or replay report, which have no run title
    page: config hash, seed, the software and machine the report was made with, and the
    validated config."""
    import matplotlib.pyplot as plt

    from ..config import config_hash
    from ..runner import _environment
    from .methods import config_listing

    extra = result.extra or {}
    exp = extra.get("experiment") or result.experiment
    env = _environment()
    fig = plt.figure()
    fig.text(0.04, 0.94, f"Manifest: {exp.run.name}", fontsize=style.TITLE_SIZE - 4,
             weight="bold")
    info = [("config hash", config_hash(exp)), ("seed", str(exp.run.seed)),
            ("report made with", f"tailrisk {env['tailrisk']}, Python {env['python']}, numpy "
                                 f"{env['numpy']}, jax {env['jax']}, jaxlib {env['jaxlib']}"),
            ("device", f"jax {env['jax_backend']}: {', '.join(env['jax_devices'])}"),
            ("platform", env["platform"])]
    y = 0.88
    for key, value in info:
        fig.text(0.05, y, key, fontsize=style.PANEL_TITLE_SIZE, weight="bold")
        fig.text(0.22, y, textwrap.shorten(value, 120), fontsize=style.PANEL_TITLE_SIZE,
                 family="monospace")
        y -= 0.03
    config_listing(fig, exp, y - 0.02, rows_fit=48)
    style.footer(fig, result, "manifest")
    return fig
