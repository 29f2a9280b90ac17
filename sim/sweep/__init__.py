"""Parameter sweeps: many design points x strategies x seeds, on a laptop or a Dask cluster.

Sample (`design`) -> evaluate (`execute`, runs batched through `sim.experiment.simulate`) -> analyse
(`analyze`). A sweep file says what varies, how it is sampled and what is kept (`spec`); the
folder it writes (`store`) is resumable and read by `sim.results.load`.
"""

from sim.sweep.execute import EngineError, SweepReport, default_sweep_dir, run_sweep
from sim.sweep.load import load_sweep, sweep_from_dict
from sim.sweep.spec import Sweep, SweepError, SweepSpec

__all__ = [
    "EngineError",
    "Sweep",
    "SweepError",
    "SweepReport",
    "SweepSpec",
    "default_sweep_dir",
    "load_sweep",
    "run_sweep",
    "sweep_from_dict",
]
