"""The account table shared by the population builders, the reference and the fast kernel."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Accounts"]


@dataclass(frozen=True, eq=False)
class Accounts:
    """N accounts of one venue, as float64/int/bool numpy arrays of shape ``(N,)``.

    side: +1 long, -1 short. quantity: contracts (units of the underlying). entry: USD.
    leverage: initial leverage L (margin = quantity * entry / L). mmr: maintenance margin rate.
    cap: largest share of positive PnL a PnL-space haircut may take. cohort: index into
    ``cohort_names``. ``probe_index`` lists the accounts that are probes, named ``probe_names``.
    Treat the arrays as read-only: the fast kernel keeps its sorted tables per Accounts object.
    """

    side: np.ndarray
    quantity: np.ndarray
    entry: np.ndarray
    leverage: np.ndarray
    mmr: np.ndarray
    exempt: np.ndarray
    recourse: np.ndarray
    cap: np.ndarray
    cohort: np.ndarray
    cohort_names: tuple[str, ...]
    probe_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    probe_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.side)
        for name in ("quantity", "entry", "leverage", "mmr", "exempt", "recourse", "cap", "cohort"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                raise ValueError(f"Accounts.{name} has shape {arr.shape}, expected ({n},)")
        if not np.all(np.isin(self.side, (-1, 1))):
            raise ValueError("Accounts.side: every entry must be +1 (long) or -1 (short)")
        if np.any(self.quantity <= 0) or np.any(self.entry <= 0) or np.any(self.leverage <= 0):
            raise ValueError("Accounts: quantity, entry and leverage must be > 0")
        if np.any((self.mmr < 0) | (self.mmr >= 1)):
            raise ValueError("Accounts.mmr: must be in [0, 1)")
        if len(self.probe_index) != len(self.probe_names):
            raise ValueError("Accounts: probe_index and probe_names differ in length")
        if n and (self.cohort.min() < 0 or self.cohort.max() >= len(self.cohort_names)):
            raise ValueError("Accounts.cohort: index outside cohort_names")

    @property
    def n(self) -> int:
        return len(self.side)

    @property
    def margin(self) -> np.ndarray:
        """Isolated margin M = q E / L, USD."""
        return self.quantity * self.entry / self.leverage

    @property
    def bankruptcy_price(self) -> np.ndarray:
        """Price where equity is zero: long E(1 - 1/L), short E(1 + 1/L), USD."""
        return self.entry * (1.0 - self.side / self.leverage)

    @property
    def liquidation_price(self) -> np.ndarray:
        """Price where equity equals m q P; +-inf for recourse accounts (never liquidated)."""
        lq = self.bankruptcy_price / (1.0 - self.side * self.mmr)
        never = np.where(self.side > 0, -np.inf, np.inf)
        return np.where(self.recourse, never, lq)

    def money_tolerance(self, fund: float, rel: float = 1e-9) -> float:
        """Round-off allowance in USD: ``rel`` of the venue's money (F_0 plus all margins).

        Gaps, ADL touches and insolvency smaller than this are float residue, not events; the
        reference and the kernel use the same rule (docs/venue.md, "Tolerances").
        """
        return rel * (float(fund) + float(np.sum(self.margin)))

    def take(self, idx: np.ndarray) -> Accounts:
        """A sub-population (probes are dropped unless all kept)."""
        idx = np.asarray(idx)
        keep = {int(j): k for k, j in enumerate(idx)}
        pairs = zip(self.probe_index, self.probe_names, strict=True)
        probes = [(keep[int(p)], nm) for p, nm in pairs if int(p) in keep]
        return Accounts(
            side=self.side[idx], quantity=self.quantity[idx], entry=self.entry[idx],
            leverage=self.leverage[idx], mmr=self.mmr[idx], exempt=self.exempt[idx],
            recourse=self.recourse[idx], cap=self.cap[idx], cohort=self.cohort[idx],
            cohort_names=self.cohort_names,
            probe_index=np.array([p for p, _ in probes], np.int64),
            probe_names=tuple(nm for _, nm in probes),
        )

    @classmethod
    def from_arrays(cls, side, quantity, entry, leverage, mmr=0.0, exempt=False, recourse=False,
                    cap=1.0, cohort=None, cohort_names=None, probe_index=(), probe_names=()):
        """Build from array-likes with scalar defaults broadcast; cohort defaults to the side."""
        side = np.asarray(side, np.int64)
        n = side.shape[0]

        def full(v, dtype):
            return np.broadcast_to(np.asarray(v, dtype), (n,)).copy()

        if cohort is None:
            cohort = (side < 0).astype(np.int64)
            cohort_names = ("long", "short")
        return cls(
            side=side, quantity=full(quantity, np.float64), entry=full(entry, np.float64),
            leverage=full(leverage, np.float64), mmr=full(mmr, np.float64),
            exempt=full(exempt, bool), recourse=full(recourse, bool), cap=full(cap, np.float64),
            cohort=full(cohort, np.int64), cohort_names=tuple(cohort_names),
            probe_index=np.asarray(probe_index, np.int64), probe_names=tuple(probe_names),
        )
