"""Occlusion boundaries: edge NMS, thinning, orientation (NumPy/OpenCV only, no torch)."""

from occseg.occlusion.nms import edge_nms, edge_orientation, thin

__all__ = ["edge_nms", "edge_orientation", "thin"]
