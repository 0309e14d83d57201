"""Classical (non-learned) click predictors: graph cut, GrabCut, random walker, geodesic.

All implement the :class:`occseg.predictor.Predictor` protocol and need no torch.
"""

from occseg.classical.geodesic import GeodesicPredictor
from occseg.classical.grabcut import GrabCutPredictor
from occseg.classical.graphcut import GraphCutPredictor
from occseg.classical.random_walker import RandomWalkerPredictor

__all__ = ["GeodesicPredictor", "GrabCutPredictor", "GraphCutPredictor", "RandomWalkerPredictor"]
