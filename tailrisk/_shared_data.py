"""Where the workspace's shared market data lives (read in place, never copied into the project).

The data without a licence (Binance klines and book depth, Hyperliquid's ADL summaries) stay in
the workspace's ``shared/data`` folder; tests and commands that need them skip or say so when it
is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["shared_data_dir"]


def shared_data_dir() -> Path | None:
    """The shared data folder: ``$TAILRISK_SHARED_DATA``, else ``shared/data`` beside the repo.

    "Beside the repo" is the repository root's parent directory (this file is
    ``<root>/tailrisk/_shared_data.py``). None when neither exists.
    """
    env = os.environ.get("TAILRISK_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None
