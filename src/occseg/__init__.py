"""occseg: interactive, occlusion-aware image segmentation."""

__version__ = "0.1.0"
