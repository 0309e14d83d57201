// COCO compressed RLE (pycocotools' string form) → tinted canvases for drawing masks.

export function decodeCounts(s) {
  // Each count is a variable-length signed number in 5-bit groups ('0' + bits, 0x20 = more,
  // 0x10 = sign in the last group); from the third count on, counts are deltas to counts[i-2].
  const counts = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p += 1;
      k += 1;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

function hexToRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

const bitmaps = new Map();
const canvases = new Map();

function remember(map, key, value, limit) {
  if (map.size >= limit) map.delete(map.keys().next().value);
  map.set(key, value);
  return value;
}

// The mask as a row-major Uint8Array (1 = set) with its centroid; cached by counts string.
export function decodeMask(rle) {
  const hit = bitmaps.get(rle.counts);
  if (hit && hit.h === rle.size[0] && hit.w === rle.size[1]) return hit;
  const [h, w] = rle.size;
  const bits = new Uint8Array(h * w);
  const counts = decodeCounts(rle.counts);
  let i = 0;
  let n = 0;
  let sy = 0;
  let sx = 0;
  for (let k = 0; k < counts.length; k += 1) {
    if (k % 2 === 1) {
      for (let j = i; j < i + counts[k]; j += 1) {
        const y = j % h; // column-major order
        const x = (j - y) / h;
        bits[y * w + x] = 1;
        sy += y;
        sx += x;
      }
      n += counts[k];
    }
    i += counts[k];
  }
  const cy = n ? sy / n : 0;
  const cx = n ? sx / n : 0;
  return remember(bitmaps, rle.counts, { h, w, bits, area: n, cy, cx }, 40);
}

function paint(rle, color, outline) {
  const { h, w, bits } = decodeMask(rle);
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const data = ctx.createImageData(w, h);
  const px = new Uint32Array(data.data.buffer);
  const [r, g, b] = hexToRgb(color);
  const value = (255 << 24) | (b << 16) | (g << 8) | r; // little-endian RGBA
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) {
      const p = y * w + x;
      if (!bits[p]) continue;
      if (outline) {
        const inner = x > 0 && x < w - 1 && y > 0 && y < h - 1
          && bits[p - 1] && bits[p + 1] && bits[p - w] && bits[p + w];
        if (inner) continue;
      }
      px[p] = value;
    }
  }
  ctx.putImageData(data, 0, 0);
  return canvas;
}

// A canvas of the mask's size: `color` where the mask is set, transparent elsewhere.
export function maskCanvas(rle, color) {
  const key = `${color}|${rle.counts}`;
  return canvases.get(key) ?? remember(canvases, key, paint(rle, color, false), 80);
}

// Like maskCanvas, but only the mask's inner boundary pixels.
export function maskOutline(rle, color) {
  const key = `outline|${color}|${rle.counts}`;
  return canvases.get(key) ?? remember(canvases, key, paint(rle, color, true), 80);
}

// True if pixel (y, x) is inside the RLE mask.
export function maskHas(rle, y, x) {
  const { w, bits } = decodeMask(rle);
  return bits[y * w + x] === 1;
}
