"""Price-path models: fat-tailed, jumping and clustering log-price increments on a step grid."""

from ._bench import bench_samplers as bench_samplers
from ._increments import log_increments as log_increments
from ._increments import log_prices as log_prices
from ._risk_neutral import risk_neutral_drift as risk_neutral_drift

__all__ = ["bench_samplers", "log_increments", "log_prices", "risk_neutral_drift"]
