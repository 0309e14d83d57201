"""Synthetic 3-D scenes with exact geometric occlusion-boundary ground truth (Mesh2OB, paper 000).

``render_scene(meshes, camera)`` gives RGB, depth, instances, triangles, occlusion boundaries with
orientation and the occlusion order for any meshes; :mod:`occseg.synth.scene` generates random
indoor scenes and :mod:`occseg.synth.writer` writes data sets.
"""

from occseg.synth.camera import Camera, intrinsics, look_at
from occseg.synth.materials import Material
from occseg.synth.render import SceneRender, render_scene
from occseg.synth.shading import Light

__all__ = ["Camera", "Light", "Material", "SceneRender", "intrinsics", "look_at", "render_scene"]
