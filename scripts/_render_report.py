"""Re-draw the contagion pages of a finished network run folder (a development helper)."""

import sys
from pathlib import Path

from tailrisk.contagion._store import load_network_run
from tailrisk.report.contagion import build_network_report

run = Path(sys.argv[1])
print(build_network_report(load_network_run(run), Path(sys.argv[2])))
