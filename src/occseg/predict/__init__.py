"""Predictors behind one protocol, and ``load_predictor`` to get one by name or path."""

from occseg.predict.registry import available_methods, load_predictor
from occseg.predictor import Predictor, check_clicks, check_image

__all__ = ["Predictor", "available_methods", "check_clicks", "check_image", "load_predictor"]
