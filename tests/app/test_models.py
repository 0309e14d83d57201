"""The trained models as app extensions: OB network (boundary mode), order network (auto order)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from occseg.app import Extensions
from occseg.app.models import (
    NetworkOrderModel,
    OBBoundaryModel,
    grown_instances,
    network_extensions,
)
from occseg.checkpoint import load_obnet, load_ordernet, save_checkpoint
from occseg.cli import main
from occseg.errors import ConfigError, InteractionError
from occseg.io import read_image
from occseg.nn.obnet import OBNet, OBNetConfig
from occseg.nn.ordernet import OrderNet, OrderNetConfig
from occseg.occlusion.pipeline import ORDER_MAX_SIDE, OrderMaps
from occseg.occlusion.targets import occludes_from_instances
from occseg.predict.transforms import NetworkView
from occseg.predictor import BoundaryModel, OrderModel
from occseg.types import Scribble

with warnings.catch_warnings():  # starlette's TestClient warns about the httpx version
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

URL = "/api/images/scene.png"


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Untrained OB and order networks at the smallest widths, saved as checkpoints."""
    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    ob = OBNet(OBNetConfig(width_mult=0.25, channels=4, boundary_channels=4, strip_kernel=5))
    order = OrderNet(OrderNetConfig(width_mult=0.125, pool_bins=(1, 2)))
    paths = {"ob": folder / "ob.pt", "order": folder / "order.pt"}
    save_checkpoint(paths["ob"], ob)
    save_checkpoint(paths["order"], order)
    return paths


@pytest.fixture
def scene(images_dir: Path) -> np.ndarray:
    """The 60×80 red/blue box image of the app fixtures."""
    return read_image(images_dir / "scene.png")


def box_masks() -> list[np.ndarray]:
    """Masks of the conftest scene: the red box, then the blue box painted over it."""
    red = np.zeros((60, 80), bool)
    red[15:45, 20:50] = True
    blue = np.zeros((60, 80), bool)
    blue[25:55, 45:70] = True
    far = np.zeros((60, 80), bool)
    far[2:6, 2:6] = True
    return [red, blue, far]


def test_boundary_model_automatic_then_refined(checkpoints, scene):
    model = OBBoundaryModel(checkpoints["ob"])
    assert isinstance(model, BoundaryModel)
    model.set_image(scene)
    auto = model.predict_boundaries([])
    assert auto.shape == (60, 80) and auto.dtype == np.float32
    assert auto.min() >= 0 and auto.max() <= 1
    scribbles = [Scribble(((20, 30), (40, 30)), "fn"), Scribble(((5, 5),), "fp")]
    refined = model.predict_boundaries(scribbles)
    assert refined.shape == (60, 80) and refined.dtype == np.float32
    expected = model.predictor.predict(scribbles, previous_prob=auto)
    np.testing.assert_array_equal(refined, expected)  # one step from the automatic output
    assert model.predict_boundaries(list(scribbles)) is refined  # cached
    assert model.predict_boundaries([]) is auto
    model.set_image(np.ascontiguousarray(scene[:40, :50]))
    assert model.predict_boundaries([]).shape == (40, 50)
    with pytest.raises(InteractionError, match="outside"):
        model.predict_boundaries([Scribble(((45, 5),), "fn")])


def test_order_model_gives_valid_one_way_pairs(checkpoints, scene):
    model = NetworkOrderModel(checkpoints["order"])
    assert isinstance(model, OrderModel)
    masks = box_masks()
    pairs = model.order_objects(scene, masks, None)
    assert all(isinstance(a, int) and isinstance(b, int) for a, b in pairs)
    assert all(0 <= a < len(masks) and 0 <= b < len(masks) and a != b for a, b in pairs)
    assert not {(b, a) for a, b in pairs} & set(pairs)
    assert all(2 not in pair for pair in pairs)  # the far mask touches nothing
    assert model.order_objects(scene, masks[:1], None) == []


class CraftedMaps:
    """Order "network": a vertical boundary in the gap between columns 8 and 11, on the side of
    the occluder (``"left"``: column 9, occluding its right neighbour; ``"right"``: column 10)."""

    class_names = ("background", "object")

    def __init__(self, side: str) -> None:
        self.side = side

    def predict_maps(self, image: np.ndarray) -> OrderMaps:
        h, w = image.shape[:2]
        boundary = np.zeros((h, w), np.float32)
        left = self.side == "left"
        boundary[:, 9 if left else 10] = 1
        orientation = np.zeros((h, w, 4), np.float32)
        orientation[..., 1 if left else 0] = 1  # occludes the right / left neighbour
        semantic = np.full((h, w, 2), 0.5, np.float32)
        return OrderMaps(semantic, boundary, orientation, self.class_names)


@pytest.mark.parametrize(("side", "expected"), [("left", [(0, 1)]), ("right", [(1, 0)])])
def test_order_follows_the_boundary_orientation_across_a_gap(checkpoints, side, expected):
    model = NetworkOrderModel(checkpoints["order"])
    model.predictor = CraftedMaps(side)
    left = np.zeros((20, 20), bool)
    left[:, :9] = True
    right = np.zeros((20, 20), bool)
    right[:, 11:] = True  # two pixels apart: still neighbours
    image = np.zeros((20, 20, 3), np.uint8)
    assert model.order_objects(image, [left, right], None) == expected
    right[:, 11:13] = False  # four pixels apart: no longer
    assert model.order_objects(image, [left, right], None) == []


#: A 12-megapixel photograph (4000×3000), cheap: all zeros.
PHOTO = (3000, 4000)


class RecordingOB:
    """OB network stand-in: records what it sees; the automatic map is 0.2 everywhere, a
    refinement marks the scribbled pixels 1 on the previous map."""

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]

    def automatic(self) -> np.ndarray:
        return np.full(self.shape, 0.2, np.float32)

    def predict(self, scribbles, previous_prob=None) -> np.ndarray:
        self.scribbles, self.previous_shape = tuple(scribbles), previous_prob.shape
        out = previous_prob.copy()
        for s in scribbles:
            for y, x in s.points:
                out[y, x] = 1
        return out


def test_the_boundary_network_sees_a_large_photo_shrunk():
    net = RecordingOB()
    model = OBBoundaryModel(net, max_side=1280)
    model.set_image(np.zeros((*PHOTO, 3), np.uint8))
    assert net.shape == (960, 1280)  # as the click model sees it, not 12 megapixels
    auto = model.predict_boundaries([])
    assert auto.shape == PHOTO and auto.dtype == np.float32
    refined = model.predict_boundaries([Scribble(((1500, 2000), (2999, 3999)), "fn")])
    assert net.scribbles == (Scribble(((480, 640), (959, 1279)), "fn"),)
    assert net.previous_shape == (960, 1280)  # the automatic map, at the network's size
    assert refined.shape == PHOTO and refined[100, 100] == np.float32(0.2)
    assert refined[1501, 2001] > 0.9  # the centre of the network's pixel (480, 640)
    with pytest.raises(InteractionError, match="outside"):
        model.predict_boundaries([Scribble(((3000, 5),), "fn")])


class RecordingMaps(CraftedMaps):
    """Order network stand-in: records the image size; a boundary at column 639 of what it sees
    (the middle of the shrunk photo), occluding its right neighbour."""

    def predict_maps(self, image: np.ndarray) -> OrderMaps:
        self.shape = image.shape[:2]
        h, w = self.shape
        boundary = np.zeros((h, w), np.float32)
        boundary[:, 639] = 1
        orientation = np.zeros((h, w, 4), np.float32)
        orientation[..., 1] = 1
        return OrderMaps(np.full((h, w, 2), 0.5, np.float32), boundary, orientation, ("b", "o"))


def test_the_order_network_sees_a_large_photo_shrunk():
    net = RecordingMaps("left")
    model = NetworkOrderModel(net, max_side=1280)
    left = np.zeros(PHOTO, bool)
    left[:, :2000] = True
    image = np.zeros((*PHOTO, 3), np.uint8)
    assert model.order_objects(image, [left, ~left], None) == [(0, 1)]
    assert net.shape == (960, 1280)


def test_a_network_view_maps_points_and_maps_both_ways():
    view = NetworkView(np.zeros((60, 80, 3), np.uint8), 40)
    assert view.image.shape == (30, 40, 3)
    assert view.points([(0, 0), (59, 79), (31, 41)]) == ((0, 0), (29, 39), (15, 20))
    mask = np.zeros((60, 80), bool)
    mask[10:20, 10:20] = True
    small = view.mask(mask)
    assert small.shape == (30, 40) and small.sum() == 25
    assert view.to_image(small.astype(np.float32)).shape == (60, 80)
    same = NetworkView(np.zeros((60, 80, 3), np.uint8), None)
    assert same.image.shape == (60, 80, 3) and same.points([(59, 79)]) == ((59, 79),)
    with pytest.raises(InteractionError, match="outside"):
        same.points([(60, 0)])


def test_the_real_networks_run_shrunk_and_answer_at_the_image_size(checkpoints, scene):
    ob = OBBoundaryModel(checkpoints["ob"], max_side=40)
    ob.set_image(scene)
    assert ob.predict_boundaries([Scribble(((20, 30), (40, 30)), "fn")]).shape == (60, 80)
    order = NetworkOrderModel(checkpoints["order"], max_side=40)
    pairs = order.order_objects(scene, box_masks(), None)
    assert all(2 not in pair for pair in pairs)


def test_grown_instances_later_masks_win_and_gaps_fill():
    a = np.zeros((1, 12), bool)
    a[0, :6] = True
    b = np.zeros((1, 12), bool)
    b[0, 4:8] = True
    assert grown_instances([a, b]).tolist() == [[1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0]]
    assert grown_instances([np.zeros((2, 2), bool)]).tolist() == [[0, 0], [0, 0]]


def test_server_offers_and_uses_the_models(make_client, checkpoints):
    ext = Extensions(OBBoundaryModel(checkpoints["ob"]), NetworkOrderModel(checkpoints["order"]))
    client = make_client(extensions=ext)
    caps = client.get("/api/info").json()["capabilities"]
    assert caps["boundary"] and caps["auto_order"]
    r = client.post(f"{URL}/scribbles", json={"version": 0, "kind": "fn", "points": [[20, 45]]})
    assert r.status_code == 200, r.text
    png = client.get(f"{URL}/boundaries.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    client.post(f"{URL}/clicks", json={"version": 1, "y": 20, "x": 25})  # red box
    client.post(f"{URL}/clicks", json={"version": 2, "y": 50, "x": 60})  # blue box
    r = client.post(f"{URL}/order/auto", json={"version": 3})
    assert r.status_code == 200, r.text
    edges = r.json()["doc"]["order"]["edges"]
    assert all({a, b} == {1, 2} for a, b in edges) and len(edges) <= 1


def test_annotate_options_enable_the_models(tmp_path, images_dir, checkpoints, monkeypatch):
    import uvicorn

    apps = []
    monkeypatch.setattr(
        uvicorn.Server, "run", lambda self, sockets=None: apps.append(self.config.app)
    )
    args = ["annotate", str(images_dir), "--out", str(tmp_path / "o"), "--port", "0"]
    models = [
        "--boundary-model",
        str(checkpoints["ob"]),
        "--order-model",
        str(checkpoints["order"]),
    ]
    assert main([*args, *models]) == 0
    caps = TestClient(apps[0], base_url="http://127.0.0.1").get("/api/info").json()["capabilities"]
    assert caps["boundary"] and caps["auto_order"]
    state = apps[0].state.occseg  # the networks are limited like the click model (--max-side)
    assert state.boundary.predictor.max_side == 1280
    assert state.order.max_side == ORDER_MAX_SIDE  # the order network's own, smaller side


@pytest.mark.parametrize(
    ("option", "which", "message"),
    [
        ("--boundary-model", None, "does not exist"),
        ("--order-model", None, "does not exist"),
        ("--boundary-model", "order", "occseg train boundaries"),
        ("--order-model", "ob", "occseg train order"),
    ],
)
def test_bad_model_paths_are_one_line_errors(tmp_path, checkpoints, capsys, option, which, message):
    path = checkpoints[which] if which else tmp_path / "missing.pt"
    assert main(["annotate", "--out", str(tmp_path / "o"), option, str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.fixture
def shipped(checkpoints, tmp_path, monkeypatch) -> dict[str, Path]:
    """The tiny networks installed as the shipped models, in half precision as those are."""
    paths = {"ob": tmp_path / "models" / "obnet.pt", "order": tmp_path / "models" / "ordernet.pt"}
    paths["ob"].parent.mkdir()
    save_checkpoint(paths["ob"], load_obnet(checkpoints["ob"]), half=True)
    save_checkpoint(paths["order"], load_ordernet(checkpoints["order"]), half=True)
    monkeypatch.setattr("occseg.predict.boundary_map.DEFAULT_OBNET", paths["ob"])
    monkeypatch.setattr("occseg.predict.ordernet.DEFAULT_ORDERNET", paths["order"])
    return paths


@pytest.fixture
def nothing_shipped(tmp_path, monkeypatch) -> None:
    """No shipped OB or order model installed."""
    monkeypatch.setattr("occseg.predict.boundary_map.DEFAULT_OBNET", tmp_path / "no" / "ob.pt")
    monkeypatch.setattr("occseg.predict.ordernet.DEFAULT_ORDERNET", tmp_path / "no" / "order.pt")


def test_the_shipped_networks_are_the_default_extensions(checkpoints, shipped, scene):
    ext = network_extensions(max_side=40)
    assert isinstance(ext.boundary, OBBoundaryModel) and ext.boundary.max_side == 40
    assert isinstance(ext.order, NetworkOrderModel) and ext.order.max_side == 40
    # the shipped files' weights (float16, cast back to float32), not some other network's
    for net, original in [
        (ext.boundary.predictor.net, load_obnet(checkpoints["ob"])),
        (ext.order.predictor.model, load_ordernet(checkpoints["order"])),
    ]:
        for name, value in original.state_dict().items():
            if value.is_floating_point():
                expected = value.half().float()
                assert torch.equal(net.state_dict()[name], expected), name
    ext.boundary.set_image(scene)
    assert ext.boundary.predict_boundaries([]).shape == (60, 80)
    assert all(2 not in pair for pair in ext.order.order_objects(scene, box_masks(), None))


@pytest.mark.usefixtures("shipped")
def test_the_order_network_works_at_its_own_side_unless_the_app_asks_for_less():
    for app_side, order_side in [(1280, ORDER_MAX_SIDE), (0, ORDER_MAX_SIDE), (200, 200)]:
        ext = network_extensions(max_side=app_side)
        assert ext.boundary.max_side == app_side and ext.order.max_side == order_side


@pytest.mark.usefixtures("shipped")
def test_none_turns_an_extension_off_and_a_path_replaces_the_shipped_one(checkpoints):
    off = network_extensions("none", "None")
    assert off.boundary is None and off.order is None
    ob = OBNetConfig(width_mult=0.25, channels=4, boundary_channels=4, strip_kernel=3)
    other = checkpoints["ob"].parent / "other-ob.pt"
    save_checkpoint(other, OBNet(ob))
    ext = network_extensions(other, "none")
    assert ext.boundary.predictor.config.strip_kernel == 3 and ext.order is None
    with pytest.raises(ConfigError, match="does not exist"):
        network_extensions(checkpoints["ob"].parent / "missing.pt")


@pytest.mark.usefixtures("nothing_shipped")
def test_without_shipped_models_the_extensions_are_off_unless_given(checkpoints):
    ext = network_extensions()
    assert ext.boundary is None and ext.order is None
    ext = network_extensions(None, checkpoints["order"])
    assert ext.boundary is None and isinstance(ext.order, NetworkOrderModel)
    with pytest.raises(ConfigError, match="does not exist"):
        network_extensions(None, checkpoints["order"].parent / "missing.pt")


def _annotate_capabilities(monkeypatch, images_dir, out, *options) -> dict[str, bool]:
    """``occseg annotate`` with ``options`` (the server not run): the page's capabilities."""
    import uvicorn

    apps = []
    monkeypatch.setattr(
        uvicorn.Server, "run", lambda self, sockets=None: apps.append(self.config.app)
    )
    args = ["annotate", str(images_dir), "--out", str(out), "--port", "0", *options]
    assert main(args) == 0
    client = TestClient(apps[0], base_url="http://127.0.0.1")
    return client.get("/api/info").json()["capabilities"]


@pytest.mark.usefixtures("shipped")
def test_annotate_uses_the_shipped_models_unless_turned_off(tmp_path, images_dir, monkeypatch):
    caps = _annotate_capabilities(monkeypatch, images_dir, tmp_path / "o")
    assert caps["boundary"] and caps["auto_order"]
    off = ["--boundary-model", "none", "--order-model", "none"]
    caps = _annotate_capabilities(monkeypatch, images_dir, tmp_path / "o", *off)
    assert not caps["boundary"] and not caps["auto_order"]
    caps = _annotate_capabilities(monkeypatch, images_dir, tmp_path / "o", "--order-model", "none")
    assert caps["boundary"] and not caps["auto_order"]


@pytest.mark.usefixtures("nothing_shipped")
def test_annotate_starts_without_the_features_whose_model_is_not_installed(
    tmp_path, images_dir, monkeypatch, capsys
):
    caps = _annotate_capabilities(monkeypatch, images_dir, tmp_path / "o")
    assert not caps["boundary"] and not caps["auto_order"] and caps["order"]
    assert capsys.readouterr().err == ""


class OrderedMaps:
    """Order "network" that sees exactly ``order`` between the regions of ``instances``: their
    oriented boundaries (supplement 1.3) as the boundary and orientation maps."""

    class_names = ("background", "object")

    def __init__(self, instances: np.ndarray, order: list[tuple[int, int]]) -> None:
        self.occludes = occludes_from_instances(instances, order)

    def predict_maps(self, image: np.ndarray) -> OrderMaps:
        boundary = self.occludes.any(axis=2).astype(np.float32)
        semantic = np.full((*boundary.shape, 2), 0.5, np.float32)
        orientation = self.occludes.astype(np.float32)
        return OrderMaps(semantic, boundary, orientation, self.class_names)


def test_automatic_order_of_the_network_keeps_every_manual_pair(make_client, stubs):
    """The order network's proposals are added where the order is open; a manual pair that the
    network contradicts stays as the annotator set it, and the undo takes back only the
    proposals."""
    instances = np.zeros((60, 80), np.int64)  # the scene: background 0, red 1, blue 2 on top
    instances[15:45, 20:50] = 1
    instances[25:55, 45:70] = 2
    network = OrderedMaps(instances, [(1, 2), (1, 0), (2, 0)])  # sees red in front of blue
    client = make_client(stubs.RegionPredictor(), Extensions(order=NetworkOrderModel(network)))
    for v, (y, x) in enumerate([(20, 25), (50, 60), (5, 5)]):  # objects 1 red, 2 blue, 3 room
        assert client.post(f"{URL}/clicks", json={"version": v, "y": y, "x": x}).status_code == 200
    r = client.post(f"{URL}/order", json={"version": 3, "action": "add", "front": 2, "back": 1})
    assert r.json()["doc"]["order"]["edges"] == [[2, 1]]
    r = client.post(f"{URL}/order/auto", json={"version": 4})
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 2  # the network's (1, 2) contradicts the manual pair
    assert r.json()["doc"]["order"]["edges"] == [[2, 1], [1, 3], [2, 3]]
    r = client.post(f"{URL}/order/auto", json={"version": 5})
    assert r.json()["added"] == 0 and r.json()["doc"]["order"]["edges"] == [[2, 1], [1, 3], [2, 3]]
    r = client.post(f"{URL}/order/undo", json={"version": 6})
    assert r.json()["doc"]["order"]["edges"] == [[2, 1]]
