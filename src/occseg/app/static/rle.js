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

const cache = new Map();

// A canvas of the mask's size: `color` where the mask is set, transparent elsewhere.
export function maskCanvas(rle, color) {
  const key = `${color}|${rle.counts}`;
  if (cache.has(key)) return cache.get(key);
  const [h, w] = rle.size;
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const data = ctx.createImageData(w, h);
  const px = new Uint32Array(data.data.buffer);
  const [r, g, b] = hexToRgb(color);
  const value = (255 << 24) | (b << 16) | (g << 8) | r; // little-endian RGBA
  const counts = decodeCounts(rle.counts);
  let i = 0;
  for (let k = 0; k < counts.length; k += 1) {
    if (k % 2 === 1) {
      for (let j = i; j < i + counts[k]; j += 1) {
        const y = j % h; // column-major order
        const x = (j - y) / h;
        px[y * w + x] = value;
      }
    }
    i += counts[k];
  }
  ctx.putImageData(data, 0, 0);
  if (cache.size > 200) cache.delete(cache.keys().next().value);
  cache.set(key, canvas);
  return canvas;
}

// True if pixel (y, x) is inside the RLE mask.
export function maskHas(rle, y, x) {
  const [h] = rle.size;
  const target = x * h + y;
  const counts = decodeCounts(rle.counts);
  let i = 0;
  for (let k = 0; k < counts.length; k += 1) {
    if (target < i + counts[k]) return k % 2 === 1;
    i += counts[k];
  }
  return false;
}
