"""Network metrics with Monte Carlo errors: how many venues fail, systemic loss, amplification,
haircuts per venue with and without links, and the loss each link carried.

Every number is a mean over paths (or a share of paths) with its Monte Carlo standard error
(paths are independent: ``sd / sqrt(paths)``); amplification is a ratio of two means on the same
paths, its error from the delta method. Money in USD.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["network_summary", "summary_lines", "systemic_loss"]


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, np.float64)
    n = len(x)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan


def systemic_loss(paths: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-path systemic loss, USD, with links and in isolation: what the venues' winners lost to
    haircuts, the capital the venues put in, their unpaid debt and the firms' credit losses
    (the insurance funds are not counted: absorbing losses is what they are for)."""
    linked = paths["loss_linked"].sum(axis=1) + paths["firm_loss"]
    isolated = paths["loss_isolated"].sum(axis=1)
    return linked, isolated


def network_summary(result) -> dict[str, Any]:
    """The numbers the CLI prints and the report draws, as plain JSON-able values."""
    p = result.paths
    n = result.n_paths
    nv = len(result.venues)
    out: dict[str, Any] = {"paths": n, "venues": list(result.venues), "units": "USD"}
    for tag, key in (("linked", "failed"), ("isolated", "failed_isolated")):
        k = p[key].sum(axis=1)
        share = np.array([(k == j).mean() for j in range(nv + 1)])
        out[f"p_fail_{tag}"] = share.tolist()
        out[f"p_fail_{tag}_se"] = np.sqrt(share * (1 - share) / n).tolist()
    linked, isolated = systemic_loss(p)
    for tag, x in (("linked", linked), ("isolated", isolated)):
        m, se = _mean_se(x)
        out[f"loss_{tag}_mean"], out[f"loss_{tag}_se"] = m, se
        out[f"loss_{tag}_q99"] = float(np.quantile(x, 0.99))
    mi = float(isolated.mean())
    if mi > 0:
        amp = float(linked.mean()) / mi
        out["amplification"] = amp
        out["amplification_se"] = float(np.std(linked - amp * isolated, ddof=1)
                                        / math.sqrt(n) / mi) if n > 1 else math.nan
    else:
        out["amplification"] = math.nan if linked.mean() == 0 else math.inf
        out["amplification_se"] = math.nan
    venues = []
    for v, name in enumerate(result.venues):
        row = {"venue": name}
        for tag in ("isolated", "linked"):
            h = p[f"haircut_{tag}"][:, v]
            row[f"haircut_{tag}_mean"], row[f"haircut_{tag}_se"] = _mean_se(h)
            row[f"haircut_{tag}_q99"] = float(np.quantile(h, 0.99))
        row["p_fail_isolated"] = float(p["failed_isolated"][:, v].mean())
        row["p_fail_linked"] = float(p["failed"][:, v].mean())
        row["p_adl_isolated"] = float(p["adl_fired_isolated"][:, v].mean())
        row["p_adl_linked"] = float(p["adl_fired"][:, v].mean())
        venues.append(row)
    out["per_venue"] = venues
    links = []
    total = float(p["link_loss"].sum(axis=1).mean()) if p["link_loss"].size else 0.0
    for j, (name, kind) in enumerate(zip(result.link_names, result.link_kinds, strict=True)):
        m, se = _mean_se(p["link_loss"][:, j])
        links.append({"link": name, "kind": kind, "loss_mean": m, "loss_se": se,
                      "share": m / total if total > 0 else 0.0,
                      "p_loss": float((p["link_loss"][:, j] > 0).mean())})
    out["per_link"] = links
    out["converged_share"] = float(p["converged"].mean())
    out["rounds_max"] = int(p["rounds"].max()) if n else 0
    out["conservation_max_abs"] = float(np.abs(p["conservation"]).max()) if n else 0.0
    return out


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A printed summary with units."""
    s = summary
    lines = [f"{s['paths']:,} paths, venues: {', '.join(s['venues'])}"]
    pf, pi = s["p_fail_linked"], s["p_fail_isolated"]
    lines.append("P(k venues fail), linked vs isolated (+- MC s.e.):")
    for k in range(len(pf)):
        lines.append(f"  k={k}: {pf[k]:.4f} +- {s['p_fail_linked_se'][k]:.4f}   vs   "
                     f"{pi[k]:.4f} +- {s['p_fail_isolated_se'][k]:.4f}")
    lines.append(f"systemic loss, mean: {s['loss_linked_mean']:,.0f} +- {s['loss_linked_se']:,.0f}"
                 f" USD linked vs {s['loss_isolated_mean']:,.0f} +- {s['loss_isolated_se']:,.0f}"
                 " USD isolated")
    lines.append(f"systemic loss, 99% quantile: {s['loss_linked_q99']:,.0f} USD linked vs "
                 f"{s['loss_isolated_q99']:,.0f} USD isolated")
    lines.append(f"amplification (linked / isolated mean loss): {s['amplification']:.3f} +- "
                 f"{s['amplification_se']:.3f}")
    lines.append("per venue: mean haircut of winners, USD (isolated -> linked); P(fail); P(ADL)")
    for r in s["per_venue"]:
        lines.append(f"  {r['venue']}: {r['haircut_isolated_mean']:,.0f} -> "
                     f"{r['haircut_linked_mean']:,.0f}; P(fail) {r['p_fail_isolated']:.4f} -> "
                     f"{r['p_fail_linked']:.4f}; P(ADL) {r['p_adl_isolated']:.4f} -> "
                     f"{r['p_adl_linked']:.4f}")
    lines.append("loss carried per link, mean USD (share of all link losses):")
    for r in s["per_link"]:
        lines.append(f"  {r['link']} ({r['kind']}): {r['loss_mean']:,.0f} +- {r['loss_se']:,.0f}"
                     f" ({100 * r['share']:.1f}%)")
    lines.append(f"rounds: {100 * s['converged_share']:.2f}% of paths converged, at most "
                 f"{s['rounds_max']}; money conservation residual at most "
                 f"{s['conservation_max_abs']:.3g} USD")
    return lines
