// Sidebar panels: the objects list and the occlusion-order view (DOM only, no server calls).

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// The clicks of an object after its last adopted proposal (those the click model sees).
export function pointClicks(obj) {
  const clicks = obj?.clicks ?? [];
  return clicks.slice(clicks.map((c) => c.kind).lastIndexOf("mask") + 1);
}

export function chip(obj) {
  const dot = el("i");
  dot.style.background = obj.color;
  return el("span", { class: "chip", title: `object ${obj.id}` }, dot, `${obj.id} ${obj.label}`);
}

// handlers: select(id), patch(id, changes), remove(id)
export function renderObjects(list, doc, selected, handlers) {
  list.replaceChildren();
  for (const obj of doc.objects) {
    const colour = el("input", { type: "color", class: "swatch", value: obj.color, title: "colour" });
    colour.addEventListener("change", () => handlers.patch(obj.id, { color: colour.value }));
    const label = el("input", {
      type: "text", class: "label", value: obj.label, list: "classes", "aria-label": "class label",
      maxlength: 100, spellcheck: "false",
    });
    label.addEventListener("change", () => {
      if (label.value.trim()) handlers.patch(obj.id, { label: label.value.trim() });
    });
    label.addEventListener("keydown", (e) => {
      if (e.key === "Enter") label.blur();
    });
    const eye = el("button", {
      class: obj.visible ? "eye" : "eye off", title: obj.visible ? "hide (v)" : "show (v)",
      "aria-label": "visibility",
    }, obj.visible ? "◉" : "○");
    eye.addEventListener("click", (e) => {
      e.stopPropagation();
      handlers.patch(obj.id, { visible: !obj.visible });
    });
    const del = el("button", { class: "del", title: "delete (Delete)", "aria-label": "delete" }, "✕");
    del.addEventListener("click", (e) => {
      e.stopPropagation();
      handlers.remove(obj.id);
    });
    const status = obj.finished ? "finished" : obj.id === selected ? "editing" : "open";
    const clicks = obj.clicks.filter((c) => c.kind !== "mask").length;
    const onBoundary = obj.clicks.filter((c) => c.kind === "boundary").length;
    const adopted = obj.clicks.some((c) => c.kind === "mask");
    const meta = el(
      "span", { class: "meta" },
      `#${obj.id} · ${adopted ? "proposal + " : ""}${clicks} click${clicks === 1 ? "" : "s"}`
        + (onBoundary ? ` (${onBoundary} on the boundary)` : "") + ` · ${obj.area} px · ${status}`,
    );
    const item = el("li", {
      class: obj.id === selected ? "selected" : "", "data-id": obj.id,
      title: "select to continue editing",
    }, colour, label, eye, del, meta);
    item.addEventListener("click", (e) => {
      if (e.target === item || e.target === meta) handlers.select(obj.id);
    });
    for (const input of [colour, label]) input.addEventListener("click", (e) => e.stopPropagation());
    list.append(item);
  }
}

// handlers: add(front, back), remove(front, back)
export function renderOrder(root, doc, pendingFront, handlers) {
  const byId = new Map(doc.objects.map((o) => [o.id, o]));
  const order = doc.order;
  for (const sel of [root.front, root.back]) {
    const keep = sel.value;
    sel.replaceChildren(...doc.objects.map((o) => el("option", { value: o.id }, `${o.id} ${o.label}`)));
    if (keep && byId.has(Number(keep))) sel.value = keep;
  }
  if (pendingFront !== null && byId.has(pendingFront)) root.front.value = String(pendingFront);
  if (root.back.value === root.front.value && doc.objects.length > 1) {
    root.back.value = String(doc.objects.find((o) => String(o.id) !== root.front.value).id);
  }

  const inCycle = new Set(order.cycles.flat());
  root.cycles.hidden = order.cycles.length === 0;
  root.cycles.replaceChildren(
    ...order.cycles.map((c) => el(
      "div", {},
      "⚠ Cycle: the order among ",
      ...c.flatMap((id, i) => [i ? ", " : "", chip(byId.get(id))]),
      " contradicts itself (red pairs below); remove or flip one of those pairs.",
    )),
  );

  root.edges.replaceChildren(
    ...order.edges.map(([a, b]) => {
      const rm = el("button", { title: "remove this pair", "aria-label": "remove" }, "✕");
      rm.addEventListener("click", () => handlers.remove(a, b));
      const flip = el("button", { title: "flip: put the other one in front" }, "⇄");
      flip.addEventListener("click", () => handlers.add(b, a));
      return el(
        "li", { class: inCycle.has(a) && inCycle.has(b) ? "in-cycle" : "" },
        el("span", { class: "pair" }, chip(byId.get(a)), " in front of ", chip(byId.get(b))),
        el("span", { class: "edge-buttons" }, flip, rm),
      );
    }),
  );

  const layers = new Map();
  for (const o of doc.objects) {
    const d = order.depth[String(o.id)] ?? 0;
    if (!layers.has(d)) layers.set(d, []);
    layers.get(d).push(o);
  }
  const depths = [...layers.keys()].sort((a, b) => a - b);
  const maxDepth = Math.max(1, depths[depths.length - 1] ?? 1);
  root.depth.replaceChildren(
    ...depths.map((d) => {
      const bar = el("span", { class: "bar" });
      bar.style.width = `${Math.round(16 + (1 - d / maxDepth) * 40)}px`;
      bar.style.background = depthColour(d, maxDepth);
      return el("div", { class: "layer" }, el("b", {}, d === 0 ? "front" : `depth ${d}`), bar,
        ...layers.get(d).map(chip));
    }),
  );
}

// Front = warm and light, back = cool and dark.
export function depthColour(depth, maxDepth) {
  const t = maxDepth > 0 ? depth / maxDepth : 0;
  const r = Math.round(255 - t * 200);
  const g = Math.round(214 - t * 120);
  const b = Math.round(80 + t * 140);
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}
