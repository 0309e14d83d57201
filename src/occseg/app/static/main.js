// occseg annotate: page state, server calls (one at a time, in order), drawing and shortcuts.

import { api, ApiError, imageUrl } from "./api.js";
import { depthColour, pointClicks, renderObjects, renderOrder } from "./panels.js";
import { ProposalLayer } from "./proposals.js";
import { decodeMask, maskCanvas, maskHas, maskOutline } from "./rle.js";
import { Viewer } from "./viewer.js";

const $ = (id) => document.getElementById(id);

const state = {
  info: null,
  images: [],
  name: null,
  doc: null,
  selected: null, // id of the object being edited (null: the next click starts one)
  mode: "object",
  boundaryClicks: false, // boundary-click mode (on from the start when the model takes them)
  boundaryThreshold: 0.5, // boundary mode: the map is shown from this probability (per project)
  savedThreshold: 0.5, // the threshold the server holds (part of the map's URL: images are cached)
  pendingFront: null, // order mode: first object picked
  hideAll: false,
  labels: true, // object labels drawn on the image
  boundaryImage: null,
  showProposals: false, // the proposals layer is on (r)
  proposals: null, // the current image's ProposalLayer, once fetched
  proposalsLoading: false,
  hover: null, // image pixel under the pointer
  proposalLevel: 0, // [ / ]: how many proposals up from the smallest one under the pointer
  hoverRank: null, // rank of the proposal a left click would adopt (null: none)
};
const viewer = new Viewer($("canvas"));
window.occseg = { state, viewer }; // for debugging and end-to-end tests

// ---- one request at a time, in order, each against the latest version --------------------
let queue = Promise.resolve();
let pending = 0; // queued or running tasks; the page is "busy" while any is left
function enqueue(task) {
  pending += 1;
  document.body.dataset.busy = "1";
  queue = queue
    .then(task)
    .catch(showError)
    .finally(() => {
      pending -= 1;
      if (pending === 0) document.body.dataset.busy = "";
    });
  return queue;
}

let toastTimer = null;
let undoDeleteId = null;

function showToast(message, { error = true, reload = false, undoDelete = null } = {}) {
  $("toast-text").textContent = message;
  $("toast").classList.toggle("info", !error);
  $("toast-reload").hidden = !reload;
  $("toast-undo").hidden = undoDelete === null;
  undoDeleteId = undoDelete;
  $("toast").hidden = false;
  clearTimeout(toastTimer);
  if (!error) toastTimer = setTimeout(() => { $("toast").hidden = true; }, 8000);
}

function showError(err) {
  const conflict = err instanceof ApiError && err.status === 409 && /changed elsewhere/.test(err.message);
  showToast(err.message || String(err), { reload: conflict });
  if (conflict) setSaveState("conflict: reload", "error");
  else if (err instanceof ApiError && err.status === 0) setSaveState("server unreachable", "error");
  else if (state.doc) setSaveState(`saved · v${state.doc.version}`); // the change was refused
}

function setSaveState(text, cls = "") {
  const s = $("save-state");
  s.textContent = text;
  s.className = cls;
}

async function change(method, path, body) {
  setSaveState("saving…", "saving");
  const res = await api(method, path, body);
  applyDoc(res.doc);
  return res;
}

const base = () => imageUrl(state.name);
const version = () => state.doc.version;

// ---- document → page ------------------------------------------------------------------------
function applyDoc(doc) {
  state.doc = doc;
  const ids = new Set(doc.objects.map((o) => o.id));
  if (!ids.has(state.selected)) state.selected = null;
  if (!ids.has(state.pendingFront)) state.pendingFront = null;
  setSaveState(`saved · v${doc.version}`);
  document.body.dataset.version = String(doc.version);
  document.body.dataset.objects = String(doc.objects.length);
  document.body.dataset.image = doc.image;
  renderPanels();
  viewer.redraw();
}

function selectedObject() {
  return state.doc?.objects.find((o) => o.id === state.selected) ?? null;
}

function renderPanels() {
  const doc = state.doc;
  if (!doc) return;
  renderObjects($("objects"), doc, state.selected, {
    select: (id) => select(id),
    patch: (id, changes) => patchObject(id, changes),
    remove: (id) => removeObject(id),
  });
  $("objects-empty").hidden = doc.objects.length > 0;
  const target = selectedObject() ?? doc.objects[doc.objects.length - 1];
  $("undo").disabled = !target?.can_undo;
  $("redo").disabled = !target?.can_redo;
  $("undo-order").disabled = !doc.order.can_undo;
  $("finish").disabled = state.selected === null;
  renderOrder(
    { front: $("order-front"), back: $("order-back"), cycles: $("cycles"), edges: $("edges"), depth: $("depth-view") },
    doc, state.pendingFront,
    { add: (a, b) => setOrder("add", a, b), remove: (a, b) => setOrder("remove", a, b) },
  );
  $("scribble-count").textContent = `${doc.scribbles.length} scribble(s)`;
  updateHover();
  const classes = new Set([...(state.info?.classes ?? []), ...doc.objects.map((o) => o.label)]);
  $("classes").replaceChildren(...[...classes].map((c) => Object.assign(document.createElement("option"), { value: c })));
  const entry = state.images.find((i) => i.name === doc.image);
  if (entry && entry.objects !== doc.objects.length) {
    entry.objects = doc.objects.length;
    renderImageSelect();
  }
  updateHint();
}

function updateHint() {
  const hint = $("hint");
  if (state.mode === "order") {
    const front = state.doc?.objects.find((o) => o.id === state.pendingFront);
    hint.textContent = front
      ? `now click the object that ${front.label} #${front.id} hides`
      : "click the object in front, then the object it hides";
  } else if (state.mode === "boundary") {
    hint.textContent = "drag: missed boundary (left) · false boundary (right) · space+drag: pan";
  } else if (state.showProposals && state.selected === null) {
    hint.textContent = state.proposalsLoading
      ? "computing region proposals…"
      : "click a highlighted proposal to adopt it as a new object · [ ] smaller / larger · r = hide proposals";
  } else if (boundaryClicksOn()) {
    const obj = selectedObject();
    hint.textContent = pointClicks(obj).length
      ? `editing ${obj.label} #${obj.id}: click where its boundary should be · Enter = finish · b = positive/negative clicks`
      : "boundary clicks: click inside an object to select it, then on its boundary · b = positive/negative clicks";
  } else {
    const obj = selectedObject();
    hint.textContent = obj
      ? `editing ${obj.label} #${obj.id}: left = object, right = background, Enter = finish`
      : "left click on an object to start a new mask · ? for help";
  }
}

function boundaryClicksOn() {
  return state.boundaryClicks && Boolean(state.info?.capabilities.boundary_clicks);
}

function setBoundaryClicks(on) {
  state.boundaryClicks = on;
  $("boundary-clicks").setAttribute("aria-pressed", String(on));
  updateHint();
}

// ---- drawing --------------------------------------------------------------------------------
viewer.onOverlay = (ctx, scale) => {
  const doc = state.doc;
  if (!doc || doc.image !== state.name || state.hideAll) return;
  if (state.mode === "order") {
    const depth = (o) => doc.order.depth[String(o.id)] ?? 0;
    const maxDepth = Math.max(1, ...doc.objects.map(depth));
    const back2front = [...doc.objects].sort((a, b) => depth(b) - depth(a));
    const inCycle = new Set(doc.order.cycles.flat()); // outlined in red
    for (const o of back2front) {
      if (!o.mask || !o.visible) continue;
      ctx.globalAlpha = o.id === state.pendingFront ? 0.9 : 0.7;
      const colour = o.id === state.pendingFront ? o.color : depthColour(depth(o), maxDepth);
      ctx.drawImage(maskCanvas(o.mask, colour), 0, 0);
      ctx.globalAlpha = 1;
      const outline = o.id === state.pendingFront ? "#ffffff" : inCycle.has(o.id) ? "#ff3b3b" : o.color;
      ctx.drawImage(maskOutline(o.mask, outline), 0, 0);
    }
    ctx.globalAlpha = 1;
    drawLabels(ctx, scale);
    return;
  }
  for (const o of doc.objects) {
    if (!o.mask || !o.visible) continue;
    const sel = o.id === state.selected;
    ctx.globalAlpha = state.mode === "boundary" ? 0.2 : sel ? 0.55 : state.selected ? 0.25 : 0.4;
    ctx.drawImage(maskCanvas(o.mask, o.color), 0, 0);
    if (state.mode === "object") {
      ctx.globalAlpha = sel || !state.selected ? 1 : 0.5;
      ctx.drawImage(maskOutline(o.mask, sel ? "#ffffff" : o.color), 0, 0);
    }
  }
  ctx.globalAlpha = 1;
  if (state.mode === "object") drawLabels(ctx, scale);
  if (state.mode === "object" && state.showProposals) drawProposals(ctx, scale);
  if (state.mode === "boundary") {
    if (state.boundaryImage) ctx.drawImage(state.boundaryImage, 0, 0);
    drawStrokes(ctx, scale);
    return;
  }
  const obj = selectedObject();
  if (!obj) return;
  const r = Math.max(2, 6 / scale);
  for (const c of pointClicks(obj)) {
    ctx.beginPath();
    ctx.arc(c.x + 0.5, c.y + 0.5, r, 0, 2 * Math.PI);
    ctx.fillStyle = c.kind === "boundary" ? "#f2b233" : c.positive ? "#30c060" : "#e5484d";
    ctx.fill();
    ctx.lineWidth = Math.max(0.5, 1.5 / scale);
    ctx.strokeStyle = "#fff";
    ctx.stroke();
  }
};

function drawLabels(ctx, scale) {
  if (!state.labels) return;
  const size = 12 / scale;
  ctx.font = `600 ${size}px system-ui, sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.lineJoin = "round";
  for (const o of state.doc.objects) {
    if (!o.mask || !o.visible) continue;
    const { cx, cy, area } = decodeMask(o.mask);
    if (!area) continue;
    const text = state.mode === "order" ? `${o.id}` : `${o.id} ${o.label}`;
    ctx.lineWidth = 3 / scale;
    ctx.strokeStyle = "rgba(0, 0, 0, 0.8)";
    ctx.strokeText(text, cx + 0.5, cy + 0.5);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, cx + 0.5, cy + 0.5);
  }
}

// every proposal outlined; the one a click would adopt filled
function drawProposals(ctx, scale) {
  const layer = state.proposals;
  if (!layer || layer.image !== state.name) return;
  ctx.lineWidth = Math.max(0.5, 1.5 / scale);
  ctx.strokeStyle = state.selected === null ? "rgba(255, 255, 255, 0.6)" : "rgba(255, 255, 255, 0.25)";
  for (const item of layer.items) ctx.stroke(layer.shape(item).outline);
  const hovered = layer.items.find((p) => p.rank === state.hoverRank);
  if (!hovered) return;
  const { outline, fill } = layer.shape(hovered);
  ctx.fillStyle = "rgba(79, 142, 247, 0.35)";
  ctx.fill(fill);
  ctx.lineWidth = Math.max(1, 3 / scale);
  ctx.strokeStyle = "#4f8ef7";
  ctx.stroke(outline);
}

function drawStrokes(ctx, scale) {
  const strokes = [...state.doc.scribbles];
  const live = viewer.strokePreview;
  if (live) strokes.push({ kind: live.button === 2 ? "fp" : "fn", points: live.stroke });
  ctx.lineWidth = Math.max(1, 3 / scale);
  ctx.lineCap = "round";
  for (const s of strokes) {
    ctx.strokeStyle = s.kind === "fp" ? "#e5484d" : "#30c060";
    ctx.beginPath();
    s.points.forEach(([y, x], i) => (i ? ctx.lineTo(x + 0.5, y + 0.5) : ctx.moveTo(x + 0.5, y + 0.5)));
    ctx.stroke();
  }
}

// ---- actions --------------------------------------------------------------------------------
function addClick(pt, negative) {
  if (negative && boundaryClicksOn()) {
    showToast("boundary clicks have no sign: left click on the object's boundary (b switches to positive/negative clicks)", { error: false });
    return;
  }
  if (negative && state.selected === null) {
    showToast("start an object with a left click; right clicks then mark its background", { error: false });
    return;
  }
  enqueue(async () => {
    const t0 = performance.now();
    // boundary-click mode: the object's first click selects it, every later one lies on its
    // boundary (an adopted proposal is selected by the next click)
    const selecting = !pointClicks(selectedObject()).length;
    const res = await change("POST", `${base()}/clicks`, {
      version: version(), object_id: state.selected, y: pt.y, x: pt.x, positive: !negative,
      label: state.selected === null ? $("next-label").value.trim() || "object" : null,
      kind: boundaryClicksOn() && !selecting ? "boundary" : "click",
    });
    state.selected = res.object_id;
    $("latency").textContent = `mask ${res.ms} ms · ${Math.round(performance.now() - t0)} ms total`;
    renderPanels();
    viewer.redraw();
  });
}

// ---- proposals layer ------------------------------------------------------------------------
function proposalsActive() { // a left click adopts the highlighted proposal
  return state.showProposals && state.mode === "object" && state.selected === null
    && state.proposals?.image === state.name;
}

function proposalAt(pt) {
  const chain = pt && proposalsActive() ? state.proposals.at(pt) : [];
  return chain[Math.min(state.proposalLevel, chain.length - 1)] ?? null;
}

let hoverBase = null; // the smallest proposal under the pointer: the level restarts when it changes
function updateHover() {
  const base = proposalsActive() && state.hover ? state.proposals.at(state.hover)[0]?.rank ?? null : null;
  if (base !== hoverBase) {
    hoverBase = base;
    state.proposalLevel = 0;
  }
  const rank = proposalAt(state.hover)?.rank ?? null;
  if (rank !== state.hoverRank) {
    state.hoverRank = rank;
    viewer.redraw();
  }
}

function stepProposal(step) {
  const chain = state.hover && proposalsActive() ? state.proposals.at(state.hover) : [];
  state.proposalLevel = Math.min(Math.max(0, state.proposalLevel + step), Math.max(0, chain.length - 1));
  updateHover();
}

async function loadProposals() {
  if (!state.showProposals || !state.name || state.proposals?.image === state.name) return;
  const name = state.name;
  state.proposalsLoading = true;
  updateHint();
  try {
    const data = await api("GET", `${imageUrl(name)}/proposals`);
    if (name === state.name) state.proposals = new ProposalLayer(data);
  } finally {
    state.proposalsLoading = false;
    updateHint();
    updateHover();
    viewer.redraw();
  }
}

function setShowProposals(on) {
  if (!state.info?.capabilities.proposals) return;
  state.showProposals = on;
  $("proposals").setAttribute("aria-pressed", String(on));
  if (on && state.mode !== "object") setMode("object");
  if (on) enqueue(loadProposals);
  updateHover();
  updateHint();
  viewer.redraw();
}

function adoptProposal(item, pt) {
  enqueue(async () => {
    const res = await change("POST", `${base()}/proposals/adopt`, {
      version: version(), rank: item.rank, y: pt.y, x: pt.x,
      label: $("next-label").value.trim() || "object",
    });
    state.selected = res.object_id; // editable with clicks at once
    $("latency").textContent = "";
    renderPanels();
    viewer.redraw();
  });
}

viewer.onHover = (pt) => {
  state.hover = pt;
  updateHover();
};

function undoRedo(which) {
  if (state.mode === "boundary") {
    if (which === "undo") enqueue(() => change("POST", `${base()}/scribbles/undo`, { version: version() }).then(refreshBoundaries));
    return;
  }
  if (state.mode === "order") {
    if (which === "undo") undoOrder();
    return;
  }
  enqueue(async () => {
    const doc = state.doc;
    const target = selectedObject() ?? doc.objects[doc.objects.length - 1];
    if (!target) return;
    state.selected = target.id;
    await change("POST", `${base()}/${which}`, { version: version(), object_id: target.id });
  });
}

function finishObject() {
  enqueue(async () => {
    const obj = selectedObject();
    if (!obj) return;
    state.selected = null;
    if (obj.clicks.length) await change("PATCH", `${base()}/objects/${obj.id}`, { version: version(), finished: true });
    else renderPanels();
    viewer.redraw();
  });
}

function select(id) {
  state.selected = id;
  renderPanels();
  viewer.redraw();
}

function cycleSelection(step) {
  const objs = state.doc?.objects ?? [];
  if (!objs.length) return;
  const i = objs.findIndex((o) => o.id === state.selected);
  const next = i < 0 ? (step > 0 ? 0 : objs.length - 1) : (i + step + objs.length) % objs.length;
  state.selected = objs[next].id;
  renderPanels();
  viewer.redraw();
}

function patchObject(id, changes) {
  enqueue(() => change("PATCH", `${base()}/objects/${id}`, { version: version(), ...changes }));
}

function removeObject(id) {
  enqueue(async () => {
    const obj = state.doc.objects.find((o) => o.id === id);
    await change("DELETE", `${base()}/objects/${id}?version=${version()}`);
    showToast(`deleted ${obj ? obj.label : "object"} #${id}`, { error: false, undoDelete: id });
  });
}

function restoreObject(id) {
  enqueue(async () => {
    $("toast").hidden = true;
    const res = await change("POST", `${base()}/objects/${id}/restore`, { version: version() });
    state.selected = res.object_id;
    renderPanels();
    viewer.redraw();
  });
}

function setOrder(action, front, back) {
  enqueue(() => change("POST", `${base()}/order`, { version: version(), action, front, back }));
}

function undoOrder() {
  enqueue(async () => {
    if (!state.doc.order.can_undo) return;
    await change("POST", `${base()}/order/undo`, { version: version() });
  });
}

function autoOrder() {
  enqueue(async () => {
    const res = await change("POST", `${base()}/order/auto`, { version: version() });
    const pairs = `${res.added} pair${res.added === 1 ? "" : "s"}`;
    showToast(`automatic order added ${pairs}; the pairs you set are kept (Ctrl+Z undoes)`, { error: false });
  });
}

function objectAt(pt) {
  const doc = state.doc;
  const depth = (o) => doc.order.depth[String(o.id)] ?? 0;
  const hits = doc.objects.filter((o) => o.mask && o.visible && maskHas(o.mask, pt.y, pt.x));
  hits.sort((a, b) => depth(a) - depth(b));
  return hits[0] ?? null;
}

function orderClick(pt) {
  const obj = objectAt(pt);
  if (!obj) {
    showToast("no object here: click inside an object's mask", { error: false });
    return;
  }
  if (state.pendingFront === null || state.pendingFront === obj.id) {
    state.pendingFront = state.pendingFront === obj.id ? null : obj.id;
    renderPanels();
    viewer.redraw();
    return;
  }
  const front = state.pendingFront;
  state.pendingFront = null;
  setOrder("add", front, obj.id);
}

async function refreshBoundaries() {
  if (!state.info.capabilities.boundary || state.mode !== "boundary") return;
  const img = new Image();
  img.src = `${base()}/boundaries.png?v=${version()}&t=${state.savedThreshold}`;
  await img.decode();
  state.boundaryImage = img;
  viewer.redraw();
}

function showThreshold(value) {
  $("boundary-threshold").value = String(value);
  $("boundary-threshold-value").textContent = value.toFixed(2);
}

// the display threshold of the boundary map, saved for the project; the map is fetched again
function setThreshold(value) {
  const t = Math.round(Math.min(0.95, Math.max(0.05, value)) * 100) / 100;
  state.boundaryThreshold = t;
  showThreshold(t);
  enqueue(async () => {
    const res = await api("PATCH", "/api/settings", { boundary_threshold: t });
    state.savedThreshold = res.settings.boundary_threshold;
    await refreshBoundaries();
  });
}

viewer.onClick = (pt, { negative }) => {
  if (!state.doc) return;
  if (state.mode === "object") {
    const proposal = negative ? null : proposalAt(pt);
    if (proposal) adoptProposal(proposal, pt);
    else addClick(pt, negative);
  } else if (state.mode === "order") orderClick(pt);
};

viewer.onStroke = (points, kind) => {
  if (state.mode !== "boundary") return;
  enqueue(() => change("POST", `${base()}/scribbles`, { version: version(), kind, points }).then(refreshBoundaries));
};

function setMode(mode) {
  if (mode === "boundary" && !state.info.capabilities.boundary) return;
  state.mode = mode;
  state.pendingFront = null;
  for (const b of document.querySelectorAll("#modes .mode")) b.classList.toggle("active", b.dataset.mode === mode);
  $("object-panel").hidden = mode !== "object";
  $("order-panel").hidden = mode !== "order";
  $("boundary-panel").hidden = mode !== "boundary";
  viewer.drawMode = mode === "boundary";
  document.body.dataset.mode = mode;
  if (mode === "boundary") enqueue(refreshBoundaries);
  renderPanels();
  viewer.redraw();
}

// ---- images ---------------------------------------------------------------------------------
function renderImageSelect() {
  const sel = $("image-select");
  sel.replaceChildren(...state.images.map((i) => {
    const o = document.createElement("option");
    o.value = i.name;
    o.textContent = i.objects ? `${i.name} (${i.objects})` : i.name;
    return o;
  }));
  if (state.name) sel.value = state.name;
}

function loadImage(name) {
  return enqueue(async () => {
    const [doc, img] = await Promise.all([
      api("GET", `${imageUrl(name)}/annotation`),
      new Promise((resolve, reject) => {
        const im = new Image();
        im.onload = () => resolve(im);
        im.onerror = () => reject(new Error(`cannot load image ${name}`));
        im.src = `${imageUrl(name)}/image`;
      }),
    ]);
    state.name = name;
    state.selected = null;
    state.pendingFront = null;
    state.boundaryImage = null;
    if (state.proposals?.image !== name) state.proposals = null;
    $("image-select").value = name;
    $("latency").textContent = "";
    $("toast").hidden = true;
    history.replaceState(null, "", `#${encodeURIComponent(name)}`);
    viewer.setImage(img);
    applyDoc(doc);
    if (state.mode === "boundary") await refreshBoundaries();
    await loadProposals();
  });
}

function stepImage(step) {
  const names = state.images.map((i) => i.name);
  const i = names.indexOf(state.name);
  if (i >= 0) loadImage(names[(i + step + names.length) % names.length]);
}

// ---- controls and shortcuts -----------------------------------------------------------------
$("image-select").addEventListener("change", (e) => loadImage(e.target.value));
$("prev-image").addEventListener("click", () => stepImage(-1));
$("next-image").addEventListener("click", () => stepImage(1));
$("undo").addEventListener("click", () => undoRedo("undo"));
$("redo").addEventListener("click", () => undoRedo("redo"));
$("undo-scribble").addEventListener("click", () => undoRedo("undo"));
$("finish").addEventListener("click", finishObject);
$("zoom-fit").addEventListener("click", () => viewer.fit());
$("help-button").addEventListener("click", () => { $("help").hidden = !$("help").hidden; });
$("help-close").addEventListener("click", () => { $("help").hidden = true; });
$("help").addEventListener("click", (e) => { if (e.target === $("help")) $("help").hidden = true; });
$("toast-close").addEventListener("click", () => { $("toast").hidden = true; });
$("toast-reload").addEventListener("click", () => loadImage(state.name));
$("toast-undo").addEventListener("click", () => { if (undoDeleteId !== null) restoreObject(undoDeleteId); });
$("next-label").addEventListener("keydown", (e) => { if (e.key === "Enter") e.target.blur(); });
$("boundary-clicks").addEventListener("click", () => setBoundaryClicks(!state.boundaryClicks));
$("proposals").addEventListener("click", () => setShowProposals(!state.showProposals));
$("boundary-threshold").addEventListener("input", (e) => showThreshold(Number(e.target.value)));
$("boundary-threshold").addEventListener("change", (e) => setThreshold(Number(e.target.value)));
for (const b of document.querySelectorAll("#modes .mode")) b.addEventListener("click", () => setMode(b.dataset.mode));
$("order-form").addEventListener("submit", (e) => {
  e.preventDefault();
  setOrder("add", Number($("order-front").value), Number($("order-back").value));
});
$("auto-order").addEventListener("click", autoOrder);
$("undo-order").addEventListener("click", undoOrder);
$("export").addEventListener("click", () => enqueue(async () => {
  const res = await api("POST", "/api/export");
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  showToast(
    `exported ${plural(res.annotations, "annotation")} of ${plural(res.images, "image")} to ${res.coco_json}`,
    { error: false },
  );
}));

document.addEventListener("keydown", (e) => {
  const typing = e.target instanceof HTMLElement && e.target.matches("input[type=text], input[type=range], select, textarea");
  if (e.key === "Escape") {
    if (!$("help").hidden) $("help").hidden = true;
    else if (typing) e.target.blur();
    else {
      state.selected = null;
      state.pendingFront = null;
      renderPanels();
      viewer.redraw();
    }
    return;
  }
  if (typing) return;
  const ctrl = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  let handled = true;
  if (ctrl && key === "z") undoRedo(e.shiftKey ? "redo" : "undo");
  else if (ctrl && key === "y") undoRedo("redo");
  else if (ctrl) handled = false;
  else if (key === "Enter") finishObject();
  else if (key === "z") undoRedo("undo");
  else if (key === "y") undoRedo("redo");
  else if (key === "Delete" || key === "Backspace") { if (state.selected !== null) removeObject(state.selected); }
  else if (key === "Tab") cycleSelection(e.shiftKey ? -1 : 1);
  else if (key === "v") { const o = selectedObject(); if (o) patchObject(o.id, { visible: !o.visible }); }
  else if (key === "l") { state.labels = !state.labels; viewer.redraw(); }
  else if (key === "h") { if (!e.repeat) { state.hideAll = true; viewer.redraw(); } }
  else if (key === "1") setMode("object");
  else if (key === "2") setMode("order");
  else if (key === "3") setMode("boundary");
  else if (key === "b" && state.info?.capabilities.boundary_clicks) setBoundaryClicks(!state.boundaryClicks);
  else if (key === "r" && state.info?.capabilities.proposals) setShowProposals(!state.showProposals);
  else if ((key === "[" || key === "]") && state.mode === "boundary") {
    setThreshold(state.boundaryThreshold + (key === "]" ? 0.05 : -0.05));
  } else if ((key === "[" || key === "]") && proposalsActive()) stepProposal(key === "]" ? 1 : -1);
  else if (key === "n" || key === "PageDown") stepImage(1);
  else if (key === "p" || key === "PageUp") stepImage(-1);
  else if (key === "+" || key === "=") viewer.zoomCenter(1.25);
  else if (key === "-" || key === "_") viewer.zoomCenter(0.8);
  else if (key === "0" || key === "f") viewer.fit();
  else if (key === "ArrowLeft") viewer.panBy(60, 0);
  else if (key === "ArrowRight") viewer.panBy(-60, 0);
  else if (key === "ArrowUp") viewer.panBy(0, 60);
  else if (key === "ArrowDown") viewer.panBy(0, -60);
  else if (key === " ") viewer.spaceHeld = true;
  else if (key === "?") $("help").hidden = !$("help").hidden;
  else handled = false;
  if (handled) e.preventDefault();
});
document.addEventListener("keyup", (e) => {
  if (e.key === " ") viewer.spaceHeld = false;
  if (e.key.toLowerCase() === "h" && state.hideAll) {
    state.hideAll = false;
    viewer.redraw();
  }
});

// ---- another tab or window changed this image? tell before the next change is refused ----
let warnedVersion = null;
async function pollVersion() {
  if (!state.doc || document.hidden || document.body.dataset.busy) return;
  const name = state.name;
  try {
    const { version: saved } = await api("GET", `${imageUrl(name)}/version`);
    // only a newer saved version means someone else (an older one is a reply that crossed ours)
    if (name === state.name && !document.body.dataset.busy && saved > state.doc.version
        && saved !== warnedVersion) {
      warnedVersion = saved;
      showToast(
        `${name} was changed elsewhere (another tab or window): saved version ${saved}, yours ${state.doc.version}; reload it to continue`,
        { reload: true },
      );
    }
  } catch (err) {
    // the server may be restarting; the next change will report it
  }
}
setInterval(pollVersion, 3000);

// ---- start ----------------------------------------------------------------------------------
async function start() {
  state.info = await api("GET", "/api/info");
  for (const node of document.querySelectorAll("[data-cap]")) {
    node.classList.toggle("cap-missing", !state.info.capabilities[node.dataset.cap]);
  }
  document.title = `occseg annotate · ${state.info.model}`;
  setBoundaryClicks(Boolean(state.info.capabilities.boundary_clicks)); // the model was chosen for them
  state.boundaryThreshold = state.savedThreshold = state.info.settings.boundary_threshold;
  showThreshold(state.boundaryThreshold);
  $("model-name").textContent = state.info.model;
  state.images = (await api("GET", "/api/images")).images;
  renderImageSelect();
  const wanted = decodeURIComponent(location.hash.slice(1));
  const first = state.images.some((i) => i.name === wanted) ? wanted : state.images[0]?.name;
  if (first) await loadImage(first);
  document.body.dataset.ready = "1";
}

start().catch(showError);
