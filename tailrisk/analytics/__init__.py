"""Tail statistics of simulated and real returns."""

from ._hill import HillPlotData as HillPlotData
from ._hill import hill as hill
from ._hill import hill_k_rule as hill_k_rule
from ._hill import hill_plot_data as hill_plot_data
