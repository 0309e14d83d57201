// A zoomable, pannable canvas view of one image with overlays drawn in image coordinates.

const DRAG_THRESHOLD = 4; // CSS pixels a press may move and still count as a click

export class Viewer {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.image = null;
    this.scale = 1;
    this.ox = 0;
    this.oy = 0;
    this.drawMode = false; // true: left/right drags draw strokes instead of panning
    this.spaceHeld = false;
    this.onClick = () => {};
    this.onStroke = () => {};
    this.onOverlay = () => {};
    this.onHover = () => {};
    this._press = null;
    this.strokePreview = null; // the press whose stroke is being drawn
    this._queued = false;
    new ResizeObserver(() => this._resize()).observe(canvas);
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    canvas.addEventListener("pointerdown", (e) => this._down(e));
    canvas.addEventListener("pointermove", (e) => this._move(e));
    canvas.addEventListener("pointerup", (e) => this._up(e));
    canvas.addEventListener("pointercancel", () => { this._press = null; });
    canvas.addEventListener("pointerleave", () => { if (!this._press) this.onHover(null); });
    canvas.addEventListener("wheel", (e) => this._wheel(e), { passive: false });
    this._resize();
  }

  setImage(image) {
    this.image = image;
    this.fit();
  }

  fit() {
    const { width, height } = this.canvas.getBoundingClientRect();
    if (!this.image || !width || !height) return;
    const s = Math.min(width / this.image.width, height / this.image.height) * 0.98;
    this.scale = s;
    this.ox = (width - this.image.width * s) / 2;
    this.oy = (height - this.image.height * s) / 2;
    this.redraw();
  }

  zoomAt(cx, cy, factor) {
    const s = Math.min(64, Math.max(0.02, this.scale * factor));
    this.ox = cx - ((cx - this.ox) * s) / this.scale;
    this.oy = cy - ((cy - this.oy) * s) / this.scale;
    this.scale = s;
    this.redraw();
  }

  zoomCenter(factor) {
    const { width, height } = this.canvas.getBoundingClientRect();
    this.zoomAt(width / 2, height / 2, factor);
  }

  panBy(dx, dy) {
    this.ox += dx;
    this.oy += dy;
    this.redraw();
  }

  // Image pixel (integer x, y) under a pointer event, or null outside the image.
  toImage(e) {
    const r = this.canvas.getBoundingClientRect();
    const x = Math.floor((e.clientX - r.left - this.ox) / this.scale);
    const y = Math.floor((e.clientY - r.top - this.oy) / this.scale);
    if (!this.image || x < 0 || y < 0 || x >= this.image.width || y >= this.image.height) {
      return null;
    }
    return { x, y };
  }

  // Client coordinates of the centre of image pixel (x, y) (used by tests and hints).
  toClient(x, y) {
    const r = this.canvas.getBoundingClientRect();
    return { x: r.left + this.ox + (x + 0.5) * this.scale, y: r.top + this.oy + (y + 0.5) * this.scale };
  }

  redraw() {
    if (this._queued) return;
    this._queued = true;
    requestAnimationFrame(() => {
      this._queued = false;
      this._draw();
    });
  }

  _resize() {
    const dpr = window.devicePixelRatio || 1;
    const { width, height } = this.canvas.getBoundingClientRect();
    const first = this.canvas.width === 300 && this.canvas.height === 150;
    this.canvas.width = Math.max(1, Math.round(width * dpr));
    this.canvas.height = Math.max(1, Math.round(height * dpr));
    if (first) this.fit();
    this.redraw();
  }

  _draw() {
    const ctx = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (!this.image) return;
    ctx.setTransform(this.scale * dpr, 0, 0, this.scale * dpr, this.ox * dpr, this.oy * dpr);
    ctx.imageSmoothingEnabled = this.scale < 2;
    ctx.drawImage(this.image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    this.onOverlay(ctx, this.scale);
  }

  _down(e) {
    // the canvas takes no focus (preventDefault below): release a text field's focus so that
    // shortcuts such as Enter work right after typing a label
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
    this.canvas.setPointerCapture(e.pointerId);
    const pan = e.button === 1 || this.spaceHeld;
    this._press = { x: e.clientX, y: e.clientY, button: e.button, shift: e.shiftKey, pan, moved: false, stroke: null };
    if (this.drawMode && !pan && (e.button === 0 || e.button === 2)) {
      const p = this.toImage(e);
      this._press.stroke = p ? [[p.y, p.x]] : [];
    }
    e.preventDefault();
  }

  _move(e) {
    const p = this._press;
    if (!p) {
      this.onHover(this.toImage(e));
      return;
    }
    const dx = e.clientX - p.x;
    const dy = e.clientY - p.y;
    if (!p.moved && Math.hypot(dx, dy) > DRAG_THRESHOLD) p.moved = true;
    if (!p.moved) return;
    if (p.stroke) {
      const q = this.toImage(e);
      const last = p.stroke[p.stroke.length - 1];
      if (q && (!last || last[0] !== q.y || last[1] !== q.x)) p.stroke.push([q.y, q.x]);
      this.strokePreview = p;
      this.redraw();
      return;
    }
    this.canvas.classList.add("panning");
    this.panBy(dx, dy);
    p.x = e.clientX;
    p.y = e.clientY;
  }

  _up(e) {
    const p = this._press;
    this._press = null;
    this.strokePreview = null;
    this.canvas.classList.remove("panning");
    if (!p) return;
    if (p.stroke && p.moved) {
      if (p.stroke.length) this.onStroke(p.stroke, p.button === 2 ? "fp" : "fn");
      this.redraw();
      return;
    }
    if (p.moved || p.pan) return;
    const pt = this.toImage(e);
    if (pt) this.onClick(pt, { negative: p.button === 2 || p.shift, button: p.button });
  }

  _wheel(e) {
    e.preventDefault();
    const r = this.canvas.getBoundingClientRect();
    this.zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 0.0015));
  }
}
