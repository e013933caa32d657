"""Maximum-likelihood calibration of the price models to a daily price series."""

from ._data import DAILY_DT as DAILY_DT
from ._data import PriceSeries as PriceSeries
from ._data import default_data_path as default_data_path
from ._data import read_prices as read_prices
from ._fit import Fit as Fit
from ._fit import fit_model as fit_model
from ._models import MODELS as MODELS
from ._report import CalibrationResult as CalibrationResult
from ._report import HillRow as HillRow
from ._report import calibrate_report as calibrate_report
from ._report import to_config as to_config
