// The operator page (admins): live connection counts, subscriptions by kind, events per
// second, as numbers and a small chart drawn on a <canvas>.

import { api, currentUser } from "../api.js";
import { h, replace } from "../dom.js";

const POLL_MS = 1000;
const HISTORY = 60; // one sample a second: the last minute

/** Every numeric leaf of a JSON value, as [dotted.path, number]. */
export function numbers(value, prefix = "") {
  const out = [];
  if (typeof value === "number") out.push([prefix, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => out.push(...numbers(v, `${prefix}[${i}]`)));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out.push(...numbers(v, prefix ? `${prefix}.${k}` : k));
  }
  return out;
}

function pick(flat, patterns) {
  for (const pattern of patterns) {
    const hit = flat.find(([key]) => pattern.test(key));
    if (hit) return hit[1];
  }
  return null;
}

function subscriptionKinds(flat) {
  const rows = flat.filter(([key]) => /^cluster\.subscriptions\./.test(key));
  const shown = rows.length ? rows : flat.filter(([key]) => /^process\.subscriptions\./.test(key));
  if (!shown.length) return h("p", { class: "muted" }, "No subscriptions.");
  return shown.map(([key, value]) => h("div", { class: "kind" }, h("dt", {}, key.split(".").pop()), h("dd", {}, String(value))));
}

function draw(canvas, series) {
  const ctx = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  ctx.scale(ratio, ratio);
  const style = getComputedStyle(canvas);
  ctx.clearRect(0, 0, width, height);
  ctx.strokeStyle = style.getPropertyValue("--grid") || "#ccc";
  ctx.lineWidth = 1;
  for (let i = 1; i < 4; i += 1) {
    const y = Math.round((height * i) / 4) + 0.5;
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.lineTo(width, y);
    ctx.stroke();
  }
  series.forEach(({ values, color }, index) => {
    const max = Math.max(1, ...values) * 1.25; // headroom above the highest point
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    // The newest sample sits at the right edge; older ones march left, one step a poll.
    const step = width / (HISTORY - 1);
    values.forEach((v, i) => {
      const x = width - (values.length - 1 - i) * step;
      const y = height - 4 - (v / max) * (height - 8);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
    ctx.fillStyle = color;
    ctx.font = "12px system-ui, sans-serif";
    const now = values.length ? values[values.length - 1] : 0;
    ctx.fillText(`${series[index].label}: ${Math.round(now * 10) / 10} (peak ${Math.max(0, ...values)})`, 8, 16 + index * 16);
  });
}

export function operatorView({ main }) {
  const me = currentUser();
  if (!me || me.role !== "admin") {
    replace(main, h("h1", {}, "Operator"), h("p", { role: "alert" }, "This page is for administrators. Sign in with an admin account."));
    return null;
  }
  const cluster = h("strong", { class: "big", id: "op-cluster" }, "–");
  const local = h("strong", { class: "big", id: "op-process" }, "–");
  const eps = h("strong", { class: "big", id: "op-eps" }, "–");
  const canvas = h("canvas", { class: "chart", role: "img", "aria-label": "Open connections and events per second over the last minute" });
  const table = h("table", { class: "stats-table" });
  const kinds = h("dl", { class: "kinds", "aria-label": "Subscriptions by kind (cluster)" });
  const status = h("p", { class: "muted", role: "status" });
  const connections = [];
  const rates = [];
  let timer = null;
  let stopped = false;

  async function poll() {
    try {
      const stats = await api("GET", "/admin/stats");
      const flat = numbers(stats);
      const c = pick(flat, [/^cluster\.(open_)?(connections|sockets)$/, /cluster.*(connections|sockets)/, /(connections|sockets)/]);
      const p = pick(flat, [/^(process|local|this_process)\.(open_)?(connections|sockets)$/, /(process|local).*(connections|sockets)/]);
      const e = pick(flat, [/events_per_second/, /events.*per.*s/, /eps/]);
      cluster.textContent = c ?? "–";
      local.textContent = p ?? "–";
      eps.textContent = e === null ? "–" : String(Math.round(e * 10) / 10);
      connections.push(c ?? 0);
      rates.push(e ?? 0);
      while (connections.length > HISTORY) connections.shift();
      while (rates.length > HISTORY) rates.shift();
      draw(canvas, [
        { values: connections, color: "#1d7bd8", label: "open connections" },
        { values: rates, color: "#d8731d", label: "events/s" },
      ]);
      replace(kinds, subscriptionKinds(flat));
      replace(table, h("caption", {}, "Everything the server reports"), h("tbody", {}, flat.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, String(v))))));
      status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      status.textContent = err.status === 404 ? "This server does not report stats yet (/admin/stats)." : err.message;
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  replace(
    main,
    h("h1", {}, "Operator"),
    h(
      "div",
      { class: "tiles" },
      h("div", { class: "card tile" }, h("span", {}, "Open connections (cluster)"), cluster),
      h("div", { class: "card tile" }, h("span", {}, "Open connections (this process)"), local),
      h("div", { class: "card tile" }, h("span", {}, "Events per second"), eps),
    ),
    h("div", { class: "card" }, canvas),
    h("section", { class: "card" }, h("h2", { class: "section-title" }, "Subscriptions by kind (cluster)"), kinds),
    status,
    table,
  );
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
