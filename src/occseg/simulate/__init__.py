"""Simulated users: training-time click samplers (random + iterative), boundary clicks and FN/FP
scribbles.

:mod:`occseg.simulate.clicks` holds the samplers (NumPy only);
:mod:`occseg.simulate.boundary_clicks` the boundary-click user of Two-in-One refinement (registered
in :data:`SIMULATORS` as ``"boundary_clicks"`` when this package is imported);
:mod:`occseg.simulate.scribbles` the FN/FP scribble simulator for occlusion boundaries;
:mod:`occseg.train.iterative` runs them against a torch model during training (this package
never imports torch). The standard evaluation clicker lives with its protocol in
:mod:`occseg.eval.clicks`.
"""

from occseg.simulate.boundary_clicks import BoundaryClickSimulator
from occseg.simulate.clicks import (
    SIMULATORS,
    ClickSimulator,
    ErrorRegionClicker,
    InteractionSimulator,
    RandomClickSampler,
    error_regions,
    make_simulator,
)
from occseg.simulate.scribbles import (
    ErrorSegments,
    ScribbleSimulation,
    error_segments,
    simulate_scribbles,
    stage1_scribbles,
)

__all__ = [
    "SIMULATORS",
    "BoundaryClickSimulator",
    "ClickSimulator",
    "ErrorRegionClicker",
    "ErrorSegments",
    "InteractionSimulator",
    "RandomClickSampler",
    "ScribbleSimulation",
    "error_regions",
    "error_segments",
    "make_simulator",
    "simulate_scribbles",
    "stage1_scribbles",
]
