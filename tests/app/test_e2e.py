"""End to end: the real page in headless Chromium against a real `occseg annotate` process."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from occseg.io import write_png

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)),
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


class Server:
    """`occseg annotate` in a subprocess on a free port; ``url`` once it is listening."""

    def __init__(
        self,
        images: Path,
        out: Path,
        model: str | None = "graphcut",
        options: Sequence[str] = (),
    ) -> None:
        main = "import sys; from occseg.cli import main; sys.exit(main(sys.argv[1:]))"
        cmd = [sys.executable, "-c", main, "annotate", str(images), "--out", str(out)]
        cmd += ["--port", "0", *options] + (["--model", model] if model else [])
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines = []
        for line in self.proc.stdout:
            lines.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            if found:
                self.url = found.group(1)
                self.output = lines
                # keep draining the pipe so that a chatty server never blocks on a full pipe
                self.drain = threading.Thread(
                    target=lines.extend, args=(self.proc.stdout,), daemon=True
                )
                self.drain.start()
                return
        raise AssertionError("server did not start:\n" + "".join(lines))

    def kill(self) -> None:
        """Kill without warning (SIGKILL): nothing may be lost."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.drain.join(timeout=5)
        self.proc.stdout.close()


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """One 120×160 scene: a red box partly hidden by a blue box on a dark background."""
    img = np.full((120, 160, 3), 25, np.uint8)
    img[30:90, 40:100] = (220, 50, 50)
    img[50:110, 90:140] = (40, 70, 230)
    write_png(tmp_path / "images" / "scene.png", img)
    return tmp_path / "images"


@pytest.fixture
def browser() -> Iterator:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    return page, errors


def _click_image(page, y: int, x: int, button: str = "left") -> None:
    pt = page.evaluate(f"window.occseg.viewer.toClient({x}, {y})")
    page.mouse.click(pt["x"], pt["y"], button=button)


def _wait_version(page, version: int) -> None:
    page.wait_for_function(
        f"document.body.dataset.version === '{version}' && !document.body.dataset.busy",
        timeout=20_000,
    )


def _canvas_pixel(page, y: int, x: int) -> list[int]:
    return page.evaluate(
        """([x, y]) => {
            const v = window.occseg.viewer, c = v.canvas, d = window.devicePixelRatio || 1;
            const p = v.toClient(x, y), r = c.getBoundingClientRect();
            const px = c.getContext('2d').getImageData(
                Math.round((p.x - r.left) * d), Math.round((p.y - r.top) * d), 1, 1).data;
            return [px[0], px[1], px[2]];
        }""",
        [x, y],
    )


#: `occseg annotate` options that turn the shipped boundary and order models off.
NO_NETWORKS = ("--boundary-model", "none", "--order-model", "none")


def test_annotate_restart_export(browser, images, tmp_path):
    out = tmp_path / "project"
    server = Server(images, out, options=NO_NETWORKS)
    try:
        page, errors = _open(browser, server.url)
        assert page.locator("#image-select").input_value() == "scene.png"
        assert page.locator("[data-mode=boundary]").is_hidden()  # turned off: not offered

        # click on the red box: a mask appears, with its latency
        _click_image(page, 60, 60)
        _wait_version(page, 1)
        assert page.locator("#objects li").count() == 1
        assert re.search(r"mask [\d.]+ ms", page.locator("#latency").inner_text())
        assert page.evaluate("window.occseg.state.doc.objects[0].area") > 0

        # a negative click, then Enter finishes the object
        _click_image(page, 100, 20, button="right")
        _wait_version(page, 2)
        clicks = page.evaluate("window.occseg.state.doc.objects[0].clicks")
        assert [c["positive"] for c in clicks] == [True, False]
        page.keyboard.press("Enter")
        _wait_version(page, 3)
        assert page.evaluate("window.occseg.state.doc.objects[0].finished")
        assert page.evaluate("window.occseg.state.selected") is None
        # the mask is drawn: a pixel within the positive click's seed is tinted, one within the
        # negative click's seed is not (labels off, so no text lies on them)
        page.keyboard.press("l")
        page.wait_for_timeout(100)  # let the canvas repaint
        tinted, plain = _canvas_pixel(page, 57, 63), _canvas_pixel(page, 103, 17)
        assert tinted != [220, 50, 50] and plain == [25, 25, 25]
        page.keyboard.press("l")
        label = page.locator("#objects li .label").first
        label.fill("box")
        label.press("Enter")
        _wait_version(page, 4)

        # a second tab that is behind is told, not silently overwritten
        page2, _ = _open(browser, server.url)
        _click_image(page2, 80, 120)
        _wait_version(page2, 5)
        _click_image(page, 80, 120)
        page.wait_for_selector("#toast:not([hidden])", timeout=10_000)
        assert "changed elsewhere" in page.locator("#toast-text").inner_text()
        page.locator("#toast-reload").click()
        _wait_version(page, 5)
        page2.close()

        page.screenshot(path=str(tmp_path / "annotate.png"))
        assert not errors, errors
    finally:
        server.kill()  # killed, not stopped: every change must already be on disk

    server = Server(images, out, options=NO_NETWORKS)
    try:
        page, errors = _open(browser, server.url)
        _wait_version(page, 5)
        objects = page.evaluate("window.occseg.state.doc.objects")
        assert [o["label"] for o in objects] == ["box", "object"]
        assert [len(o["clicks"]) for o in objects] == [2, 1] and objects[0]["finished"]
        assert page.locator("#objects li").count() == 2

        # zoom in (as on a large image): clicks still land on the right pixels
        scale = page.evaluate("window.occseg.viewer.scale")
        page.keyboard.press("+")
        page.mouse.move(400, 400)
        page.mouse.wheel(0, -200)
        assert page.evaluate("window.occseg.viewer.scale") > 1.5 * scale

        # order mode: the blue box (object 2) is in front of the red one
        page.keyboard.press("2")
        assert page.locator("#auto-order").is_hidden()  # turned off: not offered
        page.locator("#order-front").select_option("2")
        page.locator("#order-back").select_option("1")
        page.locator("#order-form button").click()
        _wait_version(page, 6)
        assert page.evaluate("window.occseg.state.doc.order.edges") == [[2, 1]]
        assert page.locator("#depth-view .layer").count() == 2

        page.locator("#export").click()
        page.wait_for_selector("#toast.info:not([hidden])", timeout=20_000)
        assert "exported 2 annotations" in page.locator("#toast-text").inner_text()
        page.screenshot(path=str(tmp_path / "order.png"))
        assert not errors, errors
    finally:
        server.kill()

    from pycocotools.coco import COCO

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coco = COCO(str(out / "export" / "coco.json"))
    anns = coco.loadAnns(coco.getAnnIds())
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == {"box", "object"}
    assert coco.loadImgs(anns[0]["image_id"])[0]["depth_constraint"] == "1-2"
    for ann in anns:
        assert coco.annToMask(ann).sum() == ann["area"] > 0
    assert json.loads((out / "project.json").read_text())["images_dir"] == str(images.resolve())
    assert (tmp_path / "annotate.png").stat().st_size > 0


def test_default_model_answers_a_click(browser, images, tmp_path):
    """`occseg annotate` without --model: the shipped default segments the clicked box."""
    server = Server(images, tmp_path / "project", model=None)
    try:
        page, errors = _open(browser, server.url)
        _click_image(page, 60, 60)
        _wait_version(page, 1)
        assert re.search(r"mask [\d.]+ ms", page.locator("#latency").inner_text())
        area = page.evaluate("window.occseg.state.doc.objects[0].area")
        # the red box shows 60×60 - 40×10 = 3200 px (the blue box hides a 40×10 strip)
        assert 2800 < area < 3700, area
        assert not errors, errors
    finally:
        server.kill()


DEV_COCO = Path(__file__).resolve().parents[3] / "shared" / "data" / "coco_mval_dev"
DOG = "dog04_000000206831"


@pytest.mark.skipif(
    not (DEV_COCO / "img" / f"{DOG}.jpg").is_file(),
    reason="needs the development data (../shared/data/coco_mval_dev)",
)
def test_default_model_keeps_the_dogs_head_after_one_click(browser, tmp_path):
    """Issue 13's case: one click on the head of COCO-MVal's `dog04` (a brown head over a
    lighter body) gives a mask over the whole head, not the click's colour patch."""
    from occseg.app.document import object_mask
    from occseg.io import read_mask

    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(DEV_COCO / "img" / f"{DOG}.jpg", images)
    server = Server(images, tmp_path / "project", model=None, options=NO_NETWORKS)
    try:
        page, errors = _open(browser, server.url)
        _click_image(page, 150, 240)
        _wait_version(page, 1)
        saved = tmp_path / "project" / "annotations" / f"{DOG}.jpg.json"
        doc = json.loads(saved.read_text())
        mask = object_mask(doc, doc["objects"][0])
        dog, _ = read_mask(DEV_COCO / "gt" / f"{DOG}.png", ignore_value=None, threshold=128)
        head = np.zeros_like(dog)
        head[50:300, 110:380] = True  # the head and ears, above the toy in its mouth
        head &= dog
        assert (mask & head).sum() > 0.8 * head.sum()
        assert (mask & ~dog).sum() < 0.1 * mask.sum()
        assert not errors, errors
    finally:
        server.kill()


class ThreadServer:
    """The app object served by uvicorn in a background thread on a free port."""

    def __init__(self, app) -> None:
        import uvicorn

        from occseg.app.serve import bind

        sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_optional_capabilities_appear_in_the_page(browser, images, tmp_path, stubs):
    from occseg.app import Extensions, Project, create_app

    app = create_app(
        Project(images, tmp_path / "project"),
        stubs.BoxPredictor(),
        model_name="stub",
        extensions=Extensions(boundary=stubs.LineBoundaries(), order=stubs.AreaOrder()),
    )
    server = ThreadServer(app)
    try:
        page, errors = _open(browser, server.url)
        assert page.locator("[data-mode=boundary]").is_visible()
        assert page.locator("#boundary-clicks").get_attribute("aria-pressed") == "true"
        page.keyboard.press("b")  # boundary clicks off: positive / negative clicks
        _click_image(page, 40, 40)
        _wait_version(page, 1)
        page.keyboard.press("b")  # on: a click on the selected object lies on its boundary
        _click_image(page, 40, 44)
        _wait_version(page, 2)
        kinds = page.evaluate("window.occseg.state.doc.objects[0].clicks.map(c => c.kind)")
        assert kinds == ["click", "boundary"]
        page.keyboard.press("Enter")
        _wait_version(page, 3)
        _click_image(page, 80, 120)  # a second, smaller object
        _wait_version(page, 4)

        # dragging pans the view and adds no click
        ox, oy = page.evaluate("[window.occseg.viewer.ox, window.occseg.viewer.oy]")
        page.mouse.move(400, 400)
        page.mouse.down()
        page.mouse.move(350, 380, steps=4)
        page.mouse.move(300, 350, steps=4)
        page.mouse.up()
        page.wait_for_timeout(200)
        moved = page.evaluate("[window.occseg.viewer.ox, window.occseg.viewer.oy]")
        assert moved == [ox - 100, oy - 50]
        assert page.evaluate("document.body.dataset.version") == "4"
        page.keyboard.press("0")  # fit again

        page.keyboard.press("2")  # order by clicks on the image: object 1, then object 2
        _click_image(page, 40, 42)
        _click_image(page, 80, 120)
        _wait_version(page, 5)
        assert page.evaluate("window.occseg.state.doc.order.edges") == [[1, 2]]
        # the stub puts the smaller object (2) in front: the pair set by hand is kept
        page.locator("#auto-order").click()
        _wait_version(page, 6)
        assert page.evaluate("window.occseg.state.doc.order.edges") == [[1, 2]]
        assert "added 0 pairs" in page.locator("#toast-text").inner_text()
        page.keyboard.press("Control+z")  # in order mode: undo the last order change
        _wait_version(page, 7)
        assert page.evaluate("window.occseg.state.doc.order.edges") == []
        assert page.locator("#undo-order").is_disabled()
        page.locator("#auto-order").click()  # nothing set by hand: the model's pair is added
        _wait_version(page, 8)
        assert page.evaluate("window.occseg.state.doc.order.edges") == [[2, 1]]

        page.keyboard.press("3")  # boundary mode: drag an FN scribble
        a, b = (page.evaluate(f"window.occseg.viewer.toClient({x}, 20)") for x in (20, 60))
        page.mouse.move(a["x"], a["y"])
        page.mouse.down()
        page.mouse.move((a["x"] + b["x"]) / 2, a["y"], steps=5)
        page.mouse.move(b["x"], b["y"], steps=5)
        page.mouse.up()
        _wait_version(page, 9)
        page.wait_for_function("window.occseg.state.boundaryImage !== null")
        scribble = page.evaluate("window.occseg.state.doc.scribbles[0]")
        assert scribble["kind"] == "fn" and len(scribble["points"]) >= 2
        page.keyboard.press("Control+z")
        _wait_version(page, 10)
        assert page.evaluate("window.occseg.state.doc.scribbles") == []
        page.screenshot(path=str(tmp_path / "boundary.png"))

        page.keyboard.press("1")  # select object 2 from the list, delete it, undo the delete
        page.locator("#objects li[data-id='2'] .meta").click()
        assert page.evaluate("window.occseg.state.selected") == 2
        page.keyboard.press("Delete")
        _wait_version(page, 11)
        assert page.locator("#objects li").count() == 1
        page.locator("#toast-undo").click()
        _wait_version(page, 12)
        assert page.locator("#objects li").count() == 2
        assert page.evaluate("window.occseg.state.doc.order.edges") == [[2, 1]]
        assert not errors, errors
    finally:
        server.stop()


def _shown_map(page) -> np.ndarray:
    """``H×W bool``: where the boundary map that the page holds shows something."""
    height, width, shown = page.evaluate(
        """() => {
            const img = window.occseg.state.boundaryImage, c = document.createElement('canvas');
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
            const d = ctx.getImageData(0, 0, c.width, c.height).data, on = [];
            for (let i = 3; i < d.length; i += 4) if (d[i]) on.push((i - 3) / 4);
            return [c.height, c.width, on];
        }"""
    )
    out = np.zeros(height * width, bool)
    out[shown] = True
    return out.reshape(height, width)


def _shown_columns(page) -> list[int]:
    """Columns where the boundary map that the page holds shows something."""
    return np.flatnonzero(_shown_map(page).any(axis=0)).tolist()


def _edge_app(project: Path, images: Path, model):
    from occseg.app import Project, create_app

    return create_app(Project(images, project), model, model_name="edge-stub")


def test_boundary_clicks_refine_the_selected_object(browser, images, tmp_path, stubs):
    """Boundary-click mode with a stub that takes interactions as Two-in-One does."""
    out = tmp_path / "project"
    server = ThreadServer(_edge_app(out, images, stubs.EdgePredictor()))
    try:
        page, errors = _open(browser, server.url)
        button = page.locator("#boundary-clicks")
        assert button.is_visible() and button.get_attribute("aria-pressed") == "true"
        _click_image(page, 60, 60)  # selects: a 9×9 square in the red box
        _wait_version(page, 1)
        assert page.evaluate("window.occseg.state.doc.objects[0].area") == 81
        _click_image(page, 62, 80)  # on the intended right boundary: the mask reaches it
        _wait_version(page, 2)
        obj = page.evaluate("window.occseg.state.doc.objects[0]")
        assert [c["kind"] for c in obj["clicks"]] == ["click", "boundary"]
        assert obj["area"] == 9 * (81 - 56)
        _click_image(page, 60, 70, button="right")  # no sign: told, nothing sent
        page.wait_for_selector("#toast.info:not([hidden])", timeout=10_000)
        assert "boundary clicks have no sign" in page.locator("#toast-text").inner_text()
        assert page.evaluate("document.body.dataset.version") == "2"
        page.keyboard.press("Control+z")
        _wait_version(page, 3)
        assert page.evaluate("window.occseg.state.doc.objects[0].area") == 81
        page.keyboard.press("Control+Shift+z")
        _wait_version(page, 4)
        assert "1 on the boundary" in page.locator("#objects li .meta").inner_text()
        page.keyboard.press("Enter")
        _wait_version(page, 5)
        button.click()  # off again: plain positive clicks (refused by this model after the first)
        assert button.get_attribute("aria-pressed") == "false"
        assert not errors, errors
    finally:
        server.stop()

    model = stubs.EdgePredictor()
    server = ThreadServer(_edge_app(out, images, model))  # a restart: clicks are replayed
    try:
        page, errors = _open(browser, server.url)
        _wait_version(page, 5)
        page.locator("#objects li[data-id='1'] .meta").click()
        _click_image(page, 45, 61)  # the top boundary
        _wait_version(page, 6)
        obj = page.evaluate("window.occseg.state.doc.objects[0]")
        assert [c["kind"] for c in obj["clicks"]] == ["click", "boundary", "boundary"]
        assert obj["area"] == (65 - 45) * (81 - 56)
        assert [len(clicks) for clicks, _ in model.calls] == [1, 2, 3]  # replayed, then new
        page.locator("#export").click()
        page.wait_for_selector("#toast.info:not([hidden])", timeout=20_000)
        assert "exported 1 annotation" in page.locator("#toast-text").inner_text()
        assert not errors, errors
    finally:
        server.stop()
    coco = json.loads((out / "export" / "coco.json").read_text())
    assert [a["area"] for a in coco["annotations"]] == [20 * 25]


def test_the_boundary_map_threshold_is_set_in_the_page(browser, images, tmp_path, stubs):
    from occseg.app import Extensions, Project, create_app

    def app():
        ext = Extensions(boundary=stubs.GradedBoundaries())
        return create_app(
            Project(images, tmp_path / "project"), stubs.BoxPredictor(), extensions=ext
        )

    server = ThreadServer(app())
    try:
        page, errors = _open(browser, server.url)
        page.keyboard.press("3")
        page.wait_for_function("window.occseg.state.boundaryImage !== null")
        assert page.locator("#boundary-threshold-value").inner_text() == "0.50"
        assert _shown_columns(page) == [60]  # the faint boundary (0.3) is below 0.5
        for _ in range(5):
            page.keyboard.press("[")
        page.wait_for_function(
            "window.occseg.state.boundaryThreshold === 0.25 && !document.body.dataset.busy"
        )
        assert page.locator("#boundary-threshold-value").inner_text() == "0.25"
        assert _shown_columns(page) == [20, 60]
        page.locator("#boundary-threshold").fill("0.9")  # the slider: above both
        page.wait_for_function(
            "window.occseg.state.boundaryThreshold === 0.9 && !document.body.dataset.busy"
        )
        assert page.locator("#boundary-threshold-value").inner_text() == "0.90"
        assert _shown_columns(page) == []
        page.locator("#boundary-threshold").fill("0.25")
        page.wait_for_function("!document.body.dataset.busy")
        assert not errors, errors
    finally:
        server.stop()

    server = ThreadServer(app())  # saved for the project: a restart keeps it
    try:
        page, errors = _open(browser, server.url)
        assert page.locator("#boundary-threshold-value").inner_text() == "0.25"
        page.keyboard.press("3")
        page.wait_for_function("window.occseg.state.boundaryImage !== null")
        assert _shown_columns(page) == [20, 60]
        assert not errors, errors
    finally:
        server.stop()


def _render_boxes():
    """A box in front of another before a wall, seen head-on (flat colours, no lights): the
    render of paper 000's Mesh2OB with its exact instances and occlusion order."""
    import trimesh

    from occseg.synth import Camera, intrinsics, look_at, render_scene

    wall = trimesh.creation.box([12.0, 0.2, 8.0])
    wall.apply_translation([0.0, 3.0, 0.0])
    far = trimesh.creation.box([1.4, 0.6, 1.2])
    far.apply_translation([-0.5, 0.8, 0.1])
    near = trimesh.creation.box([1.0, 0.6, 1.0])
    near.apply_translation([0.5, -0.6, -0.35])
    cam = Camera(intrinsics(160, 120, 50), 160, 120, look_at([0.0, -5.0, 0.0], [0.0, 0.0, 0.0]))
    return render_scene([far, near], cam, room=wall, lights=[], ambient=1.0, shadows=False)


@pytest.fixture(scope="module")
def rendered_boxes(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The rendered boxes: ``images`` (a folder with ``scene.png``), ``instances`` (0 wall,
    1 far box, 2 near box, which occludes box 1) and ``synth`` (the scene as a one-sample data
    set of ``occseg synth``)."""
    from occseg.synth.writer import finish_dataset, sample_record, write_sample

    root = tmp_path_factory.mktemp("boxes")
    render = _render_boxes()
    assert render.occlusions == [(1, 0), (2, 0), (2, 1)]
    write_png(root / "images" / "scene.png", render.rgb)
    objects = [{"id": 1, "kind": "box"}, {"id": 2, "kind": "box"}]
    write_sample(root / "synth" / "000000", render, {"objects": objects})
    finish_dataset(root / "synth", [sample_record("000000", render, objects)], {})
    return {"images": root / "images", "instances": render.instances, "synth": root / "synth"}


@pytest.fixture(scope="module")
def order_options(rendered_boxes: dict, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """`occseg annotate` options for automatic ordering with the shipped order model: none once
    it is installed; until then ``--order-model`` with a tiny network trained here on the scene
    itself (80 steps, a few seconds; saved in half precision as the shipped one)."""
    import torch

    from occseg.checkpoint import load_ordernet, save_checkpoint
    from occseg.predict.ordernet import DEFAULT_ORDERNET
    from occseg.train.config import OrderTrainConfig
    from occseg.train.order import train_order

    if DEFAULT_ORDERNET.is_file():
        return []
    out = tmp_path_factory.mktemp("ordernet")
    config = OrderTrainConfig.from_dict(
        {
            "model": {"width_mult": 0.125, "pool_bins": [1, 2]},
            "data": [str(rendered_boxes["synth"])],
            "crop_size": [96, 128],
            "batch_size": 2,
            "steps": 80,
            "lr": 0.01,
            "log_every": 80,
            "checkpoint_every": 80,
            "threads": 1,
            "out": str(out / "run"),
        }
    )
    threads = torch.get_num_threads()
    try:
        train_order(config, progress=False)
    finally:
        torch.set_num_threads(threads)
    save_checkpoint(out / "ordernet.pt", load_ordernet(out / "run" / "model.pt"), half=True)
    return ["--order-model", str(out / "ordernet.pt")]


def _inside(instances: np.ndarray, i: int) -> tuple[int, int]:
    """The pixel of region ``i`` farthest from its outline."""
    from scipy import ndimage

    depth = ndimage.distance_transform_edt(np.pad(instances == i, 1))[1:-1, 1:-1]
    y, x = np.unravel_index(np.argmax(depth), depth.shape)
    return int(y), int(x)


def test_the_shipped_models_are_on_by_default(browser, rendered_boxes, order_options, tmp_path):
    """Started without --boundary-model: boundary mode shows the shipped OB model's map at
    once; automatic ordering (the shipped order model) orders two touching boxes and keeps the
    pair the annotator sets against it."""
    from scipy import ndimage

    from occseg.io import read_image
    from occseg.occlusion.nms import thin
    from occseg.predict.boundary_map import DEFAULT_OBNET, boundary_map

    assert DEFAULT_OBNET.is_file(), "the shipped OB model is part of the package"
    boxes = rendered_boxes
    server = Server(boxes["images"], tmp_path / "project", options=order_options)
    try:
        page, errors = _open(browser, server.url)
        page.keyboard.press("3")  # boundary mode, first open: the automatic map
        page.wait_for_function("window.occseg.state.boundaryImage !== null")
        shown = _shown_map(page)
        threshold = float(page.locator("#boundary-threshold-value").inner_text())
        image = read_image(boxes["images"] / "scene.png")
        expected = thin(boundary_map(image) >= threshold)  # the shipped model, here
        assert shown.shape == expected.shape and shown.sum() > 0
        assert (shown != expected).sum() <= 0.02 * expected.sum()
        inst = boxes["instances"]
        outline = ndimage.grey_dilation(inst, 3) != ndimage.grey_erosion(inst, 3)
        near = ndimage.distance_transform_edt(~outline) <= 2
        assert (shown & near).sum() >= 0.9 * shown.sum()  # on the boxes' outlines

        page.keyboard.press("1")  # the two boxes, each with a negative click on the other
        version = 0
        for box, other in [(1, 2), (2, 1)]:
            _click_image(page, *_inside(inst, box))
            _wait_version(page, version + 1)
            _click_image(page, *_inside(inst, other), button="right")
            _wait_version(page, version + 2)
            page.keyboard.press("Enter")
            version += 3
            _wait_version(page, version)
        areas = page.evaluate("window.occseg.state.doc.objects.map(o => o.area)")
        assert areas == [int((inst == 1).sum()), int((inst == 2).sum())]

        page.keyboard.press("2")
        page.locator("#auto-order").click()  # nothing set yet: the model orders the boxes
        _wait_version(page, version + 1)
        assert "added 1 pair;" in page.locator("#toast-text").inner_text()
        [[front, back]] = page.evaluate("window.occseg.state.doc.order.edges")
        assert {front, back} == {1, 2}
        page.locator("#order-front").select_option(str(back))  # the annotator disagrees
        page.locator("#order-back").select_option(str(front))
        page.locator("#order-form button").click()
        _wait_version(page, version + 2)
        page.locator("#auto-order").click()
        _wait_version(page, version + 3)
        assert page.evaluate("window.occseg.state.doc.order.edges") == [[back, front]]
        assert "added 0 pairs" in page.locator("#toast-text").inner_text()
        assert not errors, errors
    finally:
        server.kill()


def _after_paint(page) -> None:
    """Wait until the page has drawn its pending frame."""
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def test_a_click_on_a_proposal_creates_an_object(browser, images, tmp_path, stubs):
    """The proposals layer (r): the proposal under the pointer is highlighted, ] picks the next
    larger one, a click adopts it as an object with exactly its mask, clicks then refine it."""
    from occseg.app import Extensions, Project, create_app
    from occseg.app.proposals import RegionProposals
    from occseg.io.coco import rle_to_mask

    layer = RegionProposals(features="colour")  # flat colour boxes: clear, fast proposals
    app = create_app(
        Project(images, tmp_path / "project"),
        stubs.RefinePredictor(),
        extensions=Extensions(proposals=layer),
    )
    server = ThreadServer(app)
    try:
        page, errors = _open(browser, server.url)
        button = page.locator("#proposals")
        assert button.is_visible() and button.get_attribute("aria-pressed") == "false"
        y, x = 60, 60  # inside the red box
        assert _canvas_pixel(page, y, x) == [220, 50, 50]
        page.keyboard.press("r")
        page.wait_for_function(
            "window.occseg.state.proposals !== null && !document.body.dataset.busy",
            timeout=20_000,
        )
        assert button.get_attribute("aria-pressed") == "true"
        items = page.evaluate("window.occseg.state.proposals.items")
        grid = page.evaluate(
            "[window.occseg.state.proposals.rows, window.occseg.state.proposals.cols]"
        )
        rows, cols = grid
        full = {}
        for p in items:  # each proposal at the image's size, as the server upsamples it
            cells = rle_to_mask(p["mask"])
            full[p["rank"]] = cells[
                np.ix_(np.arange(120) * rows // 120, np.arange(160) * cols // 160)
            ]
        chain = sorted(
            (p for p in items if full[p["rank"]][y, x]), key=lambda p: (p["area"], p["rank"])
        )
        assert len(chain) >= 2, "the red box lies in nested proposals"

        pt = page.evaluate(f"window.occseg.viewer.toClient({x}, {y})")
        page.mouse.move(pt["x"], pt["y"])
        page.wait_for_function(f"window.occseg.state.hoverRank === {chain[0]['rank']}")
        _after_paint(page)
        assert _canvas_pixel(page, y, x) != [220, 50, 50]  # highlighted
        page.keyboard.press("]")  # the next larger proposal under the pointer
        page.wait_for_function(f"window.occseg.state.hoverRank === {chain[1]['rank']}")
        page.mouse.click(pt["x"], pt["y"])
        _wait_version(page, 1)
        obj = page.evaluate("window.occseg.state.doc.objects[0]")
        adopted = full[chain[1]["rank"]]
        assert (rle_to_mask(obj["mask"]) == adopted).all()
        assert [c["kind"] for c in obj["clicks"]] == ["mask"]
        assert page.evaluate("[window.occseg.state.selected, window.occseg.state.hoverRank]") == [
            1,
            None,
        ]
        assert "proposal + 0 clicks" in page.locator("#objects li .meta").inner_text()

        _click_image(page, 80, 120)  # now clicks refine it: the stub adds the blue box
        _wait_version(page, 2)
        blue = np.zeros((120, 160), bool)
        blue[50:110, 90:140] = True
        obj = page.evaluate("window.occseg.state.doc.objects[0]")
        assert (rle_to_mask(obj["mask"]) == adopted | blue).all()
        page.keyboard.press("Control+z")
        _wait_version(page, 3)
        obj = page.evaluate("window.occseg.state.doc.objects[0]")
        assert (rle_to_mask(obj["mask"]) == adopted).all()
        page.keyboard.press("Control+z")  # undoes the adoption
        _wait_version(page, 4)
        assert page.evaluate("window.occseg.state.doc.objects[0].area") == 0
        page.screenshot(path=str(tmp_path / "proposals.png"))
        assert not errors, errors
    finally:
        server.stop()
