"""Log-price paths of several variants of one price model from one draw of the innovations.

Bump-and-revalue Greeks run the venue on the same paths with the start price moved (``s0 +-
h``) and with the volatility moved (``sigma +- v``). Drawing the paths again for each variant
is most of the cost a simulation has outside the venue kernel, and it is not needed:

* ``s0`` enters the paths only as ``log S_t = log s0 + cumsum(x)_t`` (the samplers' increments
  ``x`` do not depend on it), so one cumulative sum serves every start price, and the paths
  are bit-identical to those drawn for the bumped model;
* for ``gbm`` the increments are ``x = d + s z`` with the same normals ``z`` whatever the
  volatility (``d``: the per-step log drift, risk-neutral ``r dt - sigma^2 dt / 2`` or physical
  ``mu dt``; ``s = sigma sqrt(dt)``), so the bumped cumulative sum is the affine map
  ``c' = (s'/s) c + (d' - (s'/s) d) t`` of the base one, equal to the resampled one up to float
  rounding (the map uses ``d`` and ``s`` as rounded to the run's dtype, what the sampler adds
  and multiplies by).

Every other change of the model (another model's volatility, a jump intensity...) draws its
own increments. :class:`ScenarioPaths` holds one chunk's base draw and hands out each
variant's log prices, with the antithetic mirror where asked.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ScenarioPaths", "how_drawn"]

#: the only fields a variant may change and still share the base model's draw
_SHIFT_FIELDS = frozenset({"s0"})
_AFFINE_FIELDS = {"gbm": frozenset({"s0", "sigma"})}


def _changed(base, model) -> set[str]:
    a, b = base.model_dump(), model.model_dump()
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def how_drawn(base, model) -> str:
    """``"shift"`` (the base draw with another start price: bit-identical), ``"affine"``
    (``gbm`` with another volatility: the map of the module docstring) or ``"draw"`` (its own
    increments)."""
    if type(base) is not type(model):
        return "draw"
    changed = _changed(base, model)
    if changed <= _SHIFT_FIELDS:
        return "shift"
    if changed <= _AFFINE_FIELDS.get(getattr(base, "name", ""), frozenset()):
        return "affine"
    return "draw"


def _drift_and_scale(model, steps: int, dt: float, dtype) -> tuple[float, float]:
    """The sampler's drift and step scale as the kernel holds them (rounded to ``dtype``)."""
    from ..paths import _params

    p = _params.kernel_params(model, steps, dt)
    return (float(np.asarray(p["drift"], dtype)), float(np.asarray(p["vol"], dtype)))


class ScenarioPaths:
    """One chunk's paths for variants of ``base`` (see the module docstring).

    index: the chunk's global path indices (numpy int64; padded chunks included). antithetic:
    path ``2j`` is path ``j`` of the plain run and ``2j + 1`` its mirror about the variant's
    drift line ``log s0 + t x drift``. horizon: the steps kept (the first ``horizon``).
    """

    def __init__(self, key, base, index, *, steps: int, dt: float, dtype, horizon: int,
                 antithetic: bool = False):
        self.key, self.base, self.index = key, base, np.asarray(index, np.int64)
        self.steps, self.dt, self.dtype = int(steps), float(dt), np.dtype(dtype)
        self.horizon, self.antithetic = int(horizon), bool(antithetic)
        self._base_sum = None

    def _cumsum(self, model):
        """``cumsum(x)`` of ``model``'s increments on the whole grid (as ``log_prices`` sums
        them), cut to the horizon."""
        import jax.numpy as jnp

        from ..paths import log_increments

        index = self.index // 2 if self.antithetic else self.index
        x = log_increments(self.key, model, jnp.asarray(index, dtype=jnp.uint32), self.steps,
                           self.dt, self.dtype.name)
        return jnp.cumsum(x, axis=1)[:, : self.horizon]

    def log_prices(self, model):
        """``log S_t``, ``t = 1 .. horizon``, of variant ``model`` on this chunk's paths."""
        import jax.numpy as jnp

        how = how_drawn(self.base, model)
        if how == "draw":
            c = self._cumsum(model)
        else:
            if self._base_sum is None:
                self._base_sum = self._cumsum(self.base)
            c = self._base_sum
            if how == "affine":
                d, s = _drift_and_scale(self.base, self.steps, self.dt, self.dtype)
                d2, s2 = _drift_and_scale(model, self.steps, self.dt, self.dtype)
                a = s2 / s
                t = np.arange(1, self.horizon + 1, dtype=np.float64)
                c = (jnp.asarray(a, c.dtype) * c
                     + jnp.asarray((d2 - a * d) * t, c.dtype)[None])
        lp = jnp.log(jnp.asarray(model.s0, c.dtype)) + c
        if self.antithetic:
            lp = _mirror(lp, model, self.index, self.steps, self.dt)
        return lp


def _mirror(lp, model, index, steps: int, dt: float):
    """Odd global indices mirrored about the drift line ``log s0 + t x drift``."""
    import jax.numpy as jnp

    from ..paths import _params

    drift = _params.kernel_params(model, steps, dt)["drift"]
    n = lp.shape[1]
    line = math.log(model.s0) + drift * np.arange(1, n + 1, dtype=np.float64)
    mirror = jnp.asarray((np.asarray(index) % 2 == 1)[:, None])
    return jnp.where(mirror, jnp.asarray(2.0 * line, lp.dtype)[None] - lp, lp)
