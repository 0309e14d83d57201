"""The annotation web app (``occseg annotate``): a FastAPI server and a static page.

>>> from occseg.app import Project, create_app          # doctest: +SKIP
>>> from occseg.predict import load_predictor           # doctest: +SKIP
>>> app = create_app(Project(None, "out"), load_predictor("graphcut"))  # doctest: +SKIP
"""

from occseg.app.capabilities import Extensions
from occseg.app.export import ExportResult, export_coco
from occseg.app.project import Project
from occseg.app.serve import serve
from occseg.app.server import create_app

__all__ = [
    "ExportResult",
    "Extensions",
    "Project",
    "create_app",
    "export_coco",
    "serve",
]
