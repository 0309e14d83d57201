"""Synthetic 3-D scenes with exact geometric occlusion-boundary ground truth (Mesh2OB, paper 000).

``render_scene(meshes, camera)`` gives RGB, depth, instances, triangles, occlusion boundaries with
orientation and the occlusion order for any meshes; ``generate_scene`` / ``generate_sample`` draw
random indoor scenes and ``generate_dataset`` writes data sets (``occseg synth``).
"""

from occseg.synth.camera import Camera, intrinsics, look_at
from occseg.synth.dataset import generate_dataset
from occseg.synth.generate import generate_sample
from occseg.synth.materials import Material
from occseg.synth.render import SceneRender, render_scene
from occseg.synth.scene import Scene, generate_scene
from occseg.synth.shading import Light

__all__ = [
    "Camera",
    "Light",
    "Material",
    "Scene",
    "SceneRender",
    "generate_dataset",
    "generate_sample",
    "generate_scene",
    "intrinsics",
    "look_at",
    "render_scene",
]
