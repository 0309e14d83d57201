// The proposals layer: an image's region proposals (regions of a patch grid) → hit tests and
// outlines in image pixels.

import { decodeMask } from "./rle.js";

// Pixel p of a side of `size` pixels lies in grid cell floor(p * n / size), as on the server
// (MergeTree.pixel_mask); cell i therefore starts at pixel ceil(i * size / n).
const start = (i, n, size) => Math.ceil((i * size) / n);

export class ProposalLayer {
  // `data`: the server's reply to GET /api/images/{name}/proposals
  constructor(data) {
    this.image = data.image;
    this.width = data.width;
    this.height = data.height;
    [this.rows, this.cols] = data.grid;
    this.items = data.proposals; // best first
    this.shapes = new Map(); // rank → { outline, fill } (Path2D in image pixels)
  }

  // The proposals containing image pixel `pt`, smallest first. Regions of a merge tree are
  // nested or disjoint, so each one contains the ones before it.
  at(pt) {
    const cell = Math.floor((pt.y * this.rows) / this.height) * this.cols
      + Math.floor((pt.x * this.cols) / this.width);
    return this.items
      .filter((p) => decodeMask(p.mask).bits[cell] === 1)
      .sort((a, b) => a.area - b.area || a.rank - b.rank);
  }

  // Outline (cell sides facing outside) and area (runs of cells per row) of a proposal.
  shape(item) {
    const hit = this.shapes.get(item.rank);
    if (hit) return hit;
    const { rows, cols } = this;
    const bits = decodeMask(item.mask).bits;
    const on = (r, c) => r >= 0 && r < rows && c >= 0 && c < cols && bits[r * cols + c] === 1;
    const xs = (c) => start(c, cols, this.width);
    const ys = (r) => start(r, rows, this.height);
    const outline = new Path2D();
    const fill = new Path2D();
    const side = (x0, y0, x1, y1) => {
      outline.moveTo(x0, y0);
      outline.lineTo(x1, y1);
    };
    for (let r = 0; r < rows; r += 1) {
      let run = -1;
      for (let c = 0; c <= cols; c += 1) {
        if (on(r, c)) {
          if (run < 0) run = c;
          if (!on(r, c - 1)) side(xs(c), ys(r), xs(c), ys(r + 1));
          if (!on(r, c + 1)) side(xs(c + 1), ys(r), xs(c + 1), ys(r + 1));
          if (!on(r - 1, c)) side(xs(c), ys(r), xs(c + 1), ys(r));
          if (!on(r + 1, c)) side(xs(c), ys(r + 1), xs(c + 1), ys(r + 1));
        } else if (run >= 0) {
          fill.rect(xs(run), ys(r), xs(c) - xs(run), ys(r + 1) - ys(r));
          run = -1;
        }
      }
    }
    const shape = { outline, fill };
    this.shapes.set(item.rank, shape);
    return shape;
  }
}
