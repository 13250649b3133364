// The report's script: shows the session from the data written into this file. It reaches
// no network and never turns data into markup: every value is set as text (textContent),
// control characters shown as their pictures (an ESC as ␛), so output such as
// `<script>` or a terminal escape reads as what it is.
"use strict";
(function () {
  const meta = JSON.parse(document.getElementById("meta").textContent);
  const ROWS = 50; // rows a screen
  const cache = new Map(); // a few decompressed pages
  const views = document.getElementById("views");

  function visible(text) {
    return String(text ?? "").replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) =>
      c === "\u007f" ? "\u2421" : String.fromCharCode(0x2400 + c.charCodeAt(0)));
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(visible(child)));
    }
    return node;
  }
  function time(wall) {
    return wall == null ? "-" : new Date(wall * 1000).toISOString().replace("T", " ");
  }
  function seconds(s) {
    if (s == null) return "-";
    return s < 10 ? s.toFixed(3) + " s" : s < 600 ? s.toFixed(1) + " s" : (s / 60).toFixed(1) + " min";
  }

  async function page(name, number) {
    const key = name + number;
    if (cache.has(key)) return cache.get(key);
    const packed = atob(document.getElementById(key).textContent);
    const bytes = new Uint8Array(packed.length);
    for (let i = 0; i < packed.length; i++) bytes[i] = packed.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const items = JSON.parse(await new Response(stream).text());
    if (cache.size > 12) cache.delete(cache.keys().next().value);
    cache.set(key, items);
    return items;
  }

  // Items `offset`..`offset + limit` of pages `name`, only those of `group` ("" for all),
  // found through each page's counts: only the pages that hold them are opened.
  async function slice(name, group, offset, limit, groupOf) {
    const index = meta.pages[name];
    const out = [];
    let skipped = 0;
    for (let p = 0; p < index.pages && out.length < limit; p++) {
      const counts = index.counts[p];
      const here = group ? counts[group] || 0 : Object.values(counts).reduce((a, b) => a + b, 0);
      if (skipped + here <= offset) { skipped += here; continue; }
      const items = (await page(name[0], p)).filter((item) => !group || groupOf(item) === group);
      for (const item of items) {
        if (skipped++ < offset) continue;
        out.push(item);
        if (out.length === limit) break;
      }
    }
    return out;
  }
  function total(name, group) {
    const index = meta.pages[name];
    if (!group) return index.total;
    return index.counts.reduce((sum, c) => sum + (c[group] || 0), 0);
  }
  const groupOf = (item) => (item[2].startsWith("run:") ? "run" : item[2]);

  function pager(name, render, extra) {
    const state = { group: "", offset: 0 };
    const body = el("tbody");
    const where = el("span", { class: "muted" });
    const groups = el("select", { "aria-label": "source" }, el("option", { value: "" }, "every source"));
    for (const g of meta.groups) groups.append(el("option", { value: g }, g === "run" ? "runs (every run:N)" : g));
    const seq = el("input", { type: "number", placeholder: "go to seq", "aria-label": "go to seq", min: "0" });
    async function show() {
      const n = total(name, state.group);
      state.offset = Math.max(0, Math.min(state.offset, Math.max(n - 1, 0)));
      const rows = await slice(name, state.group, state.offset, ROWS, groupOf);
      body.replaceChildren(...rows.map(render));
      where.textContent = n ? `${state.offset + 1}–${state.offset + rows.length} of ${n}` : "none";
    }
    const move = (to) => () => { state.offset = to(total(name, state.group)); show(); };
    groups.addEventListener("change", () => { state.group = groups.value; state.offset = 0; show(); });
    seq.addEventListener("change", async () => {
      state.offset = await position(name, state.group, Number(seq.value)); show();
    });
    const controls = el("div", { class: "controls" }, "source ", groups,
      el("button", { type: "button" }, "first"), el("button", { type: "button" }, "previous"),
      el("button", { type: "button" }, "next"), el("button", { type: "button" }, "last"), seq, where);
    const [first, prev, next, last] = controls.querySelectorAll("button");
    first.onclick = move(() => 0);
    prev.onclick = move(() => state.offset - ROWS);
    next.onclick = move((n) => Math.min(state.offset + ROWS, Math.max(n - 1, 0)));
    last.onclick = move((n) => Math.max(n - ROWS, 0));
    return { node: el("div", {}, controls, el("table", {}, extra, body)), show };
  }
  // Where the first item at or after `seq` stands among those of `group`.
  async function position(name, group, seq) {
    const index = meta.pages[name];
    let before = 0;
    for (let p = 0; p < index.pages; p++) {
      const items = (await page(name[0], p)).filter((item) => !group || groupOf(item) === group);
      if (items.length && items[items.length - 1][0] >= seq) {
        return before + items.findIndex((item) => item[0] >= seq);
      }
      before += items.length;
    }
    return before;
  }

  function header(cells) { return el("thead", {}, el("tr", {}, ...cells.map((c) => el("th", {}, c)))); }

  function eventsView() {
    const view = pager("events", (e) => el("tr", {}, el("td", {}, e[0]), el("td", {}, time(e[1])),
      el("td", {}, e[2]), el("td", {}, e[3]), el("td", {}, e[4] + (e[6] ? ` ${e[5]} → ${e[6]}` : "")),
      el("td", { class: "text" }, e[7])), header(["seq", "time (UTC)", "source", "kind", "name", "data"]));
    return { node: view.node, show: view.show };
  }
  function transitionsView() {
    const view = pager("transitions", (t) => el("tr", {}, el("td", {}, t[0]), el("td", {}, time(t[1])),
      el("td", {}, t[2]), el("td", {}, t[3]), el("td", {}, `${t[4]} → ${t[5]}`), el("td", {}, t[6] ?? "")),
      header(["seq", "time (UTC)", "source", "trigger", "move", "reason"]));
    return { node: view.node, show: view.show };
  }

  function long(label, text) {
    const lines = text.split("\n").length;
    const block = el("pre", {}, text);
    if (text.length <= 2000 && lines <= 30) return el("div", {}, el("div", { class: "muted" }, label), block);
    return el("details", {}, el("summary", {}, `${label} (${lines} lines, ${text.length} characters)`), block);
  }
  async function runDetails(entry) {
    const d = (await page("r", entry[6]))[entry[7]];
    const parts = [long(`${d.op || "op"} (code)`, d.code || "")];
    d.inputs.forEach((text, i) => parts.push(long(`input ${i + 1}`, text)));
    for (const [stream, text] of d.output) parts.push(long(stream, text));
    if (d.dropped) parts.push(el("p", { class: "muted" }, `${d.dropped} more characters of output: see the events`));
    parts.push(el("p", { class: "muted" }, "states: " + d.states.map((s) => s[1]).join(" → ")));
    return el("td", { colspan: "6" }, ...parts);
  }
  function runsView() {
    const body = el("tbody");
    const where = el("span", { class: "muted" });
    let offset = 0;
    function show() {
      const rows = meta.runs.slice(offset, offset + ROWS);
      body.replaceChildren(...rows.map((r) => {
        const row = el("tr", { class: "run" + (r[5] !== "finished" ? " bad" : "") },
          el("td", {}, r[0]), el("td", {}, r[1] || "?"), el("td", {}, time(r[2])),
          el("td", {}, r[3] == null ? "running" : seconds(r[3] - r[2])), el("td", {}, r[4] ?? "-"),
          el("td", { class: "state" }, r[5] || "-"));
        row.addEventListener("click", async () => {
          if (row.nextSibling && row.nextSibling.classList.contains("details")) { row.nextSibling.remove(); return; }
          row.after(el("tr", { class: "details" }, await runDetails(r)));
        });
        return row;
      }));
      where.textContent = meta.runs.length ? `${offset + 1}–${offset + rows.length} of ${meta.runs.length} (click a run for its code and output)` : "no runs";
    }
    const buttons = ["first", "previous", "next", "last"].map((w) => el("button", { type: "button" }, w));
    const last = () => Math.max(meta.runs.length - ROWS, 0);
    const go = [() => 0, () => Math.max(offset - ROWS, 0), () => Math.min(offset + ROWS, last()), last];
    buttons.forEach((b, i) => { b.onclick = () => { offset = go[i](); show(); }; });
    const node = el("div", {}, el("div", { class: "controls" }, ...buttons, where),
      el("table", {}, header(["run", "op", "started (UTC)", "took", "exit code", "state"]), body));
    return { node, show };
  }

  function drawing(name) {
    const template = document.getElementById("drawing-" + name);
    return template ? el("div", { class: "drawing" }, template.content.cloneNode(true)) : null;
  }
  function originView() {
    const o = meta.origin, s = meta.session;
    const rows = [["session", s.id], ["language", s.language || "-"], ["started", time(s.started_wall)],
      ["ended", s.ended_wall == null ? "no clean end" : time(s.ended_wall)],
      [`from a ${o.kind}`, o.path], ["checked", o.verification], ["fingerprint", o.fingerprint || "-"],
      ["events", Object.entries(meta.kinds).map(([k, n]) => `${n} ${k}`).join(", ")]];
    const list = el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    const box = document.getElementById("origin");
    box.append(list);
    if (o.partial.length) box.append(el("div", { class: "warn" }, "Not the whole session: " + o.partial.join("; ")));
  }

  function start() {
    originView();
    const sections = [["Timeline", () => el("div", {}, drawing("timeline") || el("p", {}, "nothing recorded"),
      el("h2", {}, "Model health"), drawing("health") || el("p", { class: "muted" }, "no model service"))],
    ["Runs", runsView], ["Transitions", transitionsView], ["Events", eventsView]];
    const tabs = document.getElementById("tabs");
    const shown = new Map();
    function open(i) {
      tabs.querySelectorAll("button").forEach((b, j) => b.setAttribute("aria-selected", String(i === j)));
      for (const [j, view] of shown) view.node.hidden = i !== j;
      if (!shown.has(i)) {
        const made = sections[i][1]();
        const view = made instanceof Node ? { node: made } : made;
        view.node.id = "view-" + sections[i][0].toLowerCase();
        shown.set(i, view);
        views.append(view.node);
        if (view.show) return view.show();
      }
    }
    sections.forEach(([label], i) => tabs.append(Object.assign(el("button", { type: "button" }, label), { onclick: () => open(i) })));
    document.getElementById("loading").remove();
    open(0);
    document.documentElement.dataset.ready = String(Math.round(performance.now()));
  }
  start();
})();
