"""Simulated users: training-time click samplers (random + iterative).

:mod:`occseg.simulate.clicks` holds the samplers (NumPy only);
:mod:`occseg.simulate.iterative` runs them against a torch model (imported on demand, so this
package does not import torch). The standard evaluation clicker lives with its protocol in
:mod:`occseg.eval.clicks`.
"""

from occseg.simulate.clicks import (
    SIMULATORS,
    ClickSimulator,
    ErrorRegionClicker,
    InteractionSimulator,
    RandomClickSampler,
    error_regions,
    make_simulator,
)

__all__ = [
    "SIMULATORS",
    "ClickSimulator",
    "ErrorRegionClicker",
    "InteractionSimulator",
    "RandomClickSampler",
    "error_regions",
    "make_simulator",
]
