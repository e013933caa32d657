"""Experiment 11 of issue 15: the venue over the recorded prices of 2025-10-10.

The BTCUSD_PERP 1-minute mark path of 2025-10-09/10 and Binance's book depth of that day drive
the venue, whose accounts are matched to Hyperliquid's per-account ADL data; the liquidations,
ADL, its timing and the ADL'd notional per account are compared with what Hyperliquid recorded,
and a Monte Carlo of paths conditioned on the day gives the replay's uncertainty. One concept a
module: :mod:`._recorded` (the price path), :mod:`._depth` (impact from the book),
:mod:`._population` (the accounts), :mod:`._bootstrap` (the conditioned paths), :mod:`._figures`
(what was recorded), :mod:`._study` (the runs), :mod:`._compare` (the table), :mod:`._store`
(the run folder). User docs: docs/replay.md.

The data are research fixtures without a licence, read in place from the workspace's shared
data folder and never copied into the project.
"""

from ._bootstrap import block_starts as block_starts
from ._bootstrap import bootstrap_log_prices as bootstrap_log_prices
from ._compare import comparison_rows as comparison_rows
from ._depth import DepthFit as DepthFit
from ._depth import fit_impact as fit_impact
from ._depth import load_depth as load_depth
from ._depth import snapshot_marks as snapshot_marks
from ._figures import RecordedFigures as RecordedFigures
from ._figures import load_recorded_figures as load_recorded_figures
from ._recorded import RecordedPath as RecordedPath
from ._recorded import load_klines as load_klines
from ._recorded import recorded_path as recorded_path
from ._recorded import utc_minute as utc_minute
from ._store import REPLAY_JSON as REPLAY_JSON
from ._store import REPLAY_NPZ as REPLAY_NPZ
from ._store import replay_summary as replay_summary
from ._store import write_replay as write_replay
from ._study import BINANCE_DIR as BINANCE_DIR
from ._study import HYPERLIQUID_DIR as HYPERLIQUID_DIR
from ._study import ReplayResult as ReplayResult
from ._study import adl_timing as adl_timing
from ._study import event_timeline as event_timeline
from ._study import replay_data_dir as replay_data_dir
from ._study import run_replay as run_replay
