"""One generated sample: scene → render (paper 000 §3.3); seeded per sample index."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from occseg.synth.render import SceneRender, render_scene
from occseg.synth.scene import Scene, generate_scene


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """Generator of sample ``index`` of the data set seeded ``seed`` (independent of ``--jobs``)."""
    return np.random.default_rng([int(seed), int(index)])


def render_generated(scene: Scene) -> SceneRender:
    """Render a generated :class:`Scene` with its room, materials and lights."""
    return render_scene(
        [o.mesh for o in scene.objects],
        scene.camera,
        room=scene.room,
        materials=[o.material for o in scene.objects],
        room_material=scene.room_material,
        lights=scene.lights,
    )


def generate_sample(
    seed: int,
    index: int,
    width: int,
    height: int,
    *,
    user_meshes: Sequence[str] = (),
) -> tuple[Scene, SceneRender]:
    """Generate and render sample ``index`` of the data set seeded ``seed``.

    Examples
    --------
    >>> scene, out = generate_sample(0, 0, 64, 48)
    >>> out.rgb.shape, 3 <= len(scene.objects) <= 12
    ((48, 64, 3), True)
    """
    scene = generate_scene(sample_rng(seed, index), width, height, user_meshes=user_meshes)
    return scene, render_generated(scene)
