"""The seven price models at their default parameters: log-log survival of |one-day log returns|
against a Gaussian of the same standard deviation, one panel a model. A reference page: it shows
the models, not the run, so it is the same in every report.

Drawing the returns takes seven JAX compilations (about 8 s on a 2-core CPU, for 0.1 s of
sampling), so what the page plots is kept: :func:`model_tails` summarises
:func:`model_one_day_returns` into the plotted curves, standard deviations and Hill indices and
keeps them in an ``.npz`` beside this module (shipped with the package) or in tailrisk's cache
folder (:func:`cache_dir`, next to JAX's compilation cache of :mod:`tailrisk._compile_cache`).
A kept file is used only when its key matches the inputs of the draws: seed, sizes, dtype, the
validated default configs, the jax / jaxlib versions, and the code (docstrings and comments left
out) of the samplers, their parameter tables, the random streams and the Hill estimator. Any
change there draws afresh (and keeps the new result in the cache folder). After such a change,
refresh the shipped file with :func:`refresh_shipped_model_tails`; ``tests/test_report.py``
fails until then.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import json
import textwrap
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import style
from .data import gauss_surv_abs, hill_alpha, survival
from .registry import Page, PageFamily, register

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

__all__ = [
    "MODEL_DEFAULTS",
    "MODEL_PATHS",
    "MODEL_SEED",
    "MODEL_STEPS",
    "ModelTails",
    "model_one_day_returns",
    "model_tails",
    "model_tails_from",
    "refresh_shipped_model_tails",
]

#: the configuration each model is shown at on the model-survival page (config defaults; the
#: Student-t needs a scale, given as a 60 % annual standard deviation like the GBM default)
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "gbm": {"name": "gbm"},
    "student_t": {"name": "student_t", "nu": 3.0, "sigma": 0.6},
    "merton": {"name": "merton"},
    "kou": {"name": "kou"},
    "garch_t": {"name": "garch_t"},
    "hawkes": {"name": "hawkes"},
    "stable": {"name": "stable"},
}
#: one-day returns drawn per model: paths x steps, pooled (so GARCH and Hawkes show clustering)
MODEL_PATHS, MODEL_STEPS = 1_000, 100
#: seed of the model draws (analysis stream); fixed, since the page does not depend on the run
MODEL_SEED = 0
MODEL_DTYPE = "float32"
#: plotted points of each model's survival curve
MODEL_POINTS = 600
#: bump when :func:`model_tails_from` changes what it keeps
_FORMAT = 1
#: the code the draws and their summary depend on, relative to the ``tailrisk`` package
_SOURCES = (
    "_rng.py",
    "paths/_bits.py",
    "paths/_increments.py",
    "paths/_params.py",
    "paths/_quantile.py",
    "paths/_risk_neutral.py",
    "paths/_samplers.py",
    "paths/_stable_table.py",
    "analytics/_hill.py",
)
SHIPPED = Path(__file__).with_name("model_tails.npz")


def model_one_day_returns(
    seed: int = MODEL_SEED, dtype: str = MODEL_DTYPE
) -> dict[str, np.ndarray]:
    """``{model: (MODEL_PATHS * MODEL_STEPS,)}`` pooled one-day log returns at MODEL_DEFAULTS,
    drawn by the run's own samplers (:func:`tailrisk.paths.log_increments`, analysis stream)."""
    import jax.numpy as jnp

    from .._rng import STREAM_ANALYSIS, stream_key
    from ..config import parse_config
    from ..paths import log_increments

    key = stream_key(seed, STREAM_ANALYSIS)
    index = jnp.arange(MODEL_PATHS, dtype=jnp.uint32)
    out = {}
    for name, cfg in MODEL_DEFAULTS.items():
        model = parse_config({"model": cfg}, f"<report model {name}>").model
        inc = log_increments(key, model, index, MODEL_STEPS, 1.0 / 365.0, dtype)
        out[name] = np.asarray(inc, np.float64).ravel()
    return out


@dataclass(frozen=True)
class ModelTails:
    """What the model page plots, per model name: ``x`` (|return| at the plotted ranks,
    ascending) and ``surv`` (P(|R| >= x)), the sample standard deviation ``sd``, the Hill index
    ``alpha`` of |return| and its largest value ``top``; over all models, ``lo`` (5 % quantile
    of the pooled |returns|, at least 1e-5: where the x axis starts) and ``n`` (returns per
    model)."""

    x: dict[str, np.ndarray]
    surv: dict[str, np.ndarray]
    sd: dict[str, float]
    alpha: dict[str, float]
    top: dict[str, float]
    lo: float
    n: int

    @property
    def names(self) -> list[str]:
        return list(self.x)


def model_tails_from(draws: dict[str, np.ndarray]) -> ModelTails:
    """Summarise ``{model: returns}`` into what the page plots."""
    x, surv, sd, alpha, top = {}, {}, {}, {}, {}
    for name, r in draws.items():
        a = np.abs(np.asarray(r, np.float64))
        x[name], surv[name] = survival(a, MODEL_POINTS)
        sd[name] = float(np.std(r))
        alpha[name] = hill_alpha(a)
        top[name] = float(a.max())
    pooled = np.concatenate([np.abs(r) for r in draws.values()])
    lo = max(float(np.quantile(pooled, 0.05)), 1e-5)
    n = max(np.asarray(r).size for r in draws.values())
    return ModelTails(x, surv, sd, alpha, top, lo, int(n))


# ----------------------------------------------------------------------------- kept results


def _code_digest(path: Path) -> str:
    """sha256 of a module's code without its docstrings, comments and blank lines (the same
    under every Python version: the syntax tree gives the docstrings' places, the tokenizer the
    comments'); "missing" for a file that cannot be read."""
    try:
        src = path.read_text(encoding="utf-8")
    except OSError:
        return "missing"
    spans = []
    for node in ast.walk(ast.parse(src)):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            d = body[0]
            spans.append(((d.lineno, d.col_offset), (d.end_lineno, d.end_col_offset)))
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.COMMENT:
            spans.append((tok.start, tok.end))
    lines = src.splitlines()
    for (l0, c0), (l1, c1) in sorted(spans, reverse=True):  # from the end: offsets stay valid
        lines[l0 - 1 : l1] = [lines[l0 - 1][:c0] + lines[l1 - 1][c1:]]
    code = "\n".join(line.rstrip() for line in lines if line.strip())
    return hashlib.sha256(code.encode()).hexdigest()


def model_tails_key(seed: int = MODEL_SEED) -> str:
    """The key of the kept model tails for ``seed``: a hash of everything the draws and their
    summary depend on (see the module docstring)."""
    from importlib.metadata import PackageNotFoundError, version

    from ..config import parse_config

    def ver(pkg: str) -> str:
        try:
            return version(pkg)
        except PackageNotFoundError:  # pragma: no cover
            return "none"

    root = Path(__file__).resolve().parents[1]
    inputs = {
        "format": _FORMAT,
        "seed": int(seed),
        "paths": MODEL_PATHS,
        "steps": MODEL_STEPS,
        "dtype": MODEL_DTYPE,
        "points": MODEL_POINTS,
        "models": {
            name: parse_config({"model": cfg}, "<report>").model.model_dump(mode="json")
            for name, cfg in MODEL_DEFAULTS.items()
        },
        "jax": ver("jax"),
        "jaxlib": ver("jaxlib"),
        "code": {src: _code_digest(root / src) for src in _SOURCES},
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def cache_dir() -> Path | None:
    """Where fresh model tails are kept: ``report`` in tailrisk's cache folder
    (:func:`tailrisk._compile_cache.cache_root`; None when the cache is off)."""
    from .._compile_cache import cache_root

    root = cache_root()
    return None if root is None else root / "report"


def _save(path: Path, key: str, tails: ModelTails) -> None:
    from .._atomic import atomic_write

    meta = {
        "key": key,
        "names": tails.names,
        "sd": tails.sd,
        "alpha": tails.alpha,
        "top": tails.top,
        "lo": tails.lo,
        "n": tails.n,
    }
    arrays = {"meta": np.array(json.dumps(meta))}
    for i, name in enumerate(tails.names):
        arrays[f"x{i}"], arrays[f"s{i}"] = tails.x[name], tails.surv[name]
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays), suffix=".npz")


def _load(path: Path, key: str) -> ModelTails | None:
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            if meta.get("key") != key:
                return None
            names = meta["names"]
            xs = {name: f[f"x{i}"] for i, name in enumerate(names)}
            ss = {name: f[f"s{i}"] for i, name in enumerate(names)}
    except (OSError, KeyError, ValueError):
        return None
    return ModelTails(xs, ss, meta["sd"], meta["alpha"], meta["top"], meta["lo"], meta["n"])


def _cache_file(key: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / f"tailrisk-model-tails-{key[:24]}.npz"


@functools.cache
def model_tails(seed: int = MODEL_SEED) -> ModelTails:
    """What the model page plots at ``seed``: kept (shipped or cached) when the key matches,
    else :func:`model_tails_from` of fresh :func:`model_one_day_returns`, then kept in the
    cache folder (none when the cache is off; a folder that cannot be written is skipped)."""
    key = model_tails_key(seed)
    cached = _cache_file(key)
    for path in (SHIPPED, cached):
        if path is not None and path.is_file() and (tails := _load(path, key)) is not None:
            return tails
    tails = model_tails_from(model_one_day_returns(seed))
    if cached is not None:
        try:
            _save(cached, key, tails)
        except OSError:
            pass
    return tails


def refresh_shipped_model_tails() -> Path:
    """Draw the model returns afresh and write them over the shipped file (run after a change
    to a sampler, a default config or the versions of jax; then commit the file)."""
    key = model_tails_key(MODEL_SEED)
    _save(SHIPPED, key, model_tails_from(model_one_day_returns(MODEL_SEED)))
    model_tails.cache_clear()
    return SHIPPED


# ----------------------------------------------------------------------------- the page


def _param_label(name: str) -> str:
    from ..config import parse_config

    model = parse_config({"model": MODEL_DEFAULTS[name]}, "<report>").model
    skip = {"name", "s0", "mode", "mu", "r", "clip", "scale"} - (
        {"scale"} if name == "stable" else set()
    )
    parts = [f"{k}={v:g}" for k, v in model.model_dump().items() if k not in skip and v is not None]
    return ", ".join(parts)


def _models_page(result: RunResult):
    import matplotlib.pyplot as plt

    tails = model_tails()
    names = tails.names
    fig, axes = plt.subplots(3, 3, sharex=True, sharey=True)
    lo = tails.lo
    for ax, name in zip(axes.flat, names, strict=False):
        sd = tails.sd[name]
        grid = np.geomspace(lo, tails.top[name] * 1.5, 200)
        ax.loglog(
            tails.x[name], tails.surv[name], color=style.BLUE, lw=style.CURVE_LW, label="model"
        )
        ax.loglog(
            grid,
            gauss_surv_abs(grid, sd),
            color=style.ORANGE,
            ls="--",
            lw=style.REFERENCE_LW,
            label="Gaussian, same s.d.",
        )
        ax.set_title(f"{name}  (Hill α ≈ {tails.alpha[name]:.2f})", fontsize=style.PANEL_TITLE_SIZE)
        ax.text(
            0.03,
            0.04,
            textwrap.fill(_param_label(name), 38) + f"\ns.d. = {sd:.4f}",
            transform=ax.transAxes,
            fontsize=style.PANEL_NOTE_SIZE,
            color=style.GREY,
        )
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    n = tails.n
    axes.flat[len(names) - 1].legend(loc="upper right")
    notes = axes.flat[len(names)]
    notes.set_visible(True)
    notes.axis("off")
    notes.text(
        0.02,
        0.95,
        textwrap.fill(
            f"Each panel: {n:,} one-day log returns ({MODEL_PATHS:,} paths x {MODEL_STEPS} daily "
            f"steps, pooled; seed {MODEL_SEED}, the same in every report) at the model's default "
            "parameters, risk-neutral mode off. "
            "Dashed: a Gaussian with the sample standard deviation (for the alpha-stable model "
            "the true variance is infinite; the sample s.d. is shown only for scale). "
            "Hill α: tail index of |return| with the analytics default k.",
            55,
        ),
        transform=notes.transAxes,
        va="top",
        fontsize=style.SMALL_SIZE,
    )
    for ax in axes[-1]:
        ax.set_xlabel("|one-day log return| x")
    for ax in axes[:, 0]:
        ax.set_ylabel("P(|R| > x)")
    ax0 = axes.flat[0]
    ax0.set_xlim(lo, max(tails.top.values()) * 1.5)
    ax0.set_ylim(0.5 / n, 1.1)
    fig.suptitle("Return tails of the seven price models: survival of |one-day log returns|")
    style.panel_grid(fig, wgap=0.9, hgap=0.4, top=0.9)  # shared axes
    style.footer(fig, result)
    return fig


register(
    PageFamily(
        "model return tails",
        50,
        # the page is looked up when drawn, so a test can stand in for it
        lambda r: [Page("model return tails (one day)", lambda: _models_page(r))],
    )
)
