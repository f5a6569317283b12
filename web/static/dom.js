// DOM helpers. Untrusted text only ever enters the page as text nodes (h(), text()).
// The one exception is a tweet's `html`, which the server has already sanitized; even that
// goes through trustedTweetHtml(), which re-parses it in an inert document and copies over
// only an allow-list of tags and attributes (defence in depth, no innerHTML on the page).

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  return append(clear(el), children);
}

const TAGS = new Set([
  "p", "br", "em", "strong", "del", "code", "pre", "blockquote",
  "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
]);
const SAFE_HREF = /^(https?:|mailto:|\/(?!\/))/i;

function copySafe(source, target) {
  for (const node of source.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      target.append(document.createTextNode(node.textContent));
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = node.tagName.toLowerCase();
    if (!TAGS.has(tag)) {
      // Unknown element: keep its text, drop the element (and scripts/styles entirely).
      if (tag !== "script" && tag !== "style") copySafe(node, target);
      continue;
    }
    const href = (node.getAttribute("href") || "").trim();
    if (tag === "a" && !SAFE_HREF.test(href)) {
      copySafe(node, target); // a link the server refused: keep its text only
      continue;
    }
    const el = document.createElement(tag);
    if (tag === "a") {
      el.setAttribute("href", href);
      if (node.getAttribute("class")) el.className = node.getAttribute("class");
      if (!href.startsWith("/")) {
        el.setAttribute("rel", "nofollow noopener noreferrer");
        el.setAttribute("target", "_blank");
      }
    } else if (tag === "ol" && /^\d+$/.test(node.getAttribute("start") || "")) {
      el.setAttribute("start", node.getAttribute("start"));
    }
    copySafe(node, el);
    target.append(el);
  }
}

/** A fragment built from the server's sanitized tweet HTML. */
export function trustedTweetHtml(html) {
  const inert = new DOMParser().parseFromString(String(html), "text/html");
  const fragment = document.createDocumentFragment();
  copySafe(inert.body, fragment);
  return fragment;
}

export function timeAgo(iso) {
  const then = new Date(iso);
  const seconds = Math.round((Date.now() - then.getTime()) / 1000);
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)}h`;
  return then.toLocaleDateString(undefined, { month: "short", day: "numeric", year: "numeric" });
}

export function timeEl(iso) {
  return h("time", { datetime: iso, title: new Date(iso).toLocaleString() }, timeAgo(iso));
}

/** Count characters the way the server does (Unicode code points). */
export function charCount(text) {
  return [...text].length;
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// Icons drawn as inline SVG (built node by node), so they need no font or image file.
const ICONS = {
  bell: "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z",
  reply: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2zm1 2v11.2L7.2 15H20V6z",
  heart: "M12 21s-7.5-4.6-9.5-9.3C1.1 8.4 3.1 5 6.5 5c2 0 3.5 1.1 4.5 2.6C12 6.1 13.5 5 15.5 5 18.9 5 20.9 8.4 21.5 11.7 19.5 16.4 12 21 12 21z",
  repost: "M7 7h10v3l4-4-4-4v3H5v6h2V7zm10 10H7v-3l-4 4 4 4v-3h12v-6h-2v4z",
  quote: "M6 17h3l2-4V7H5v6h3zm8 0h3l2-4V7h-6v6h3z",
  bookmark: "M17 3H7a2 2 0 0 0-2 2v16l7-3 7 3V5a2 2 0 0 0-2-2z",
  bookmarkOutline: "M17 3H7a2 2 0 0 0-2 2v16l7-3 7 3V5a2 2 0 0 0-2-2zm0 15-5-2.18L7 18V5h10z",
  pin: "M16 9V4h1a1 1 0 0 0 0-2H7a1 1 0 0 0 0 2h1v5a3 3 0 0 1-3 3v2h6v7l1 1 1-1v-7h6v-2a3 3 0 0 1-3-3z",
  heartOutline: "M12 21s-7.5-4.6-9.5-9.3C1.1 8.4 3.1 5 6.5 5c2 0 3.5 1.1 4.5 2.6C12 6.1 13.5 5 15.5 5 18.9 5 20.9 8.4 21.5 11.7 19.5 16.4 12 21 12 21zm0-2.4c2.2-1.5 6.3-4.6 7.6-7.5-.5-2.3-1.9-4.1-4.1-4.1-1.6 0-2.7 1-3.5 2.6-.8-1.6-1.9-2.6-3.5-2.6-2.2 0-3.6 1.8-4.1 4.1 1.3 2.9 5.4 6 7.6 7.5z",
};

export function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", `icon icon-${name}`);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  path.setAttribute("fill-rule", "evenodd");
  svg.append(path);
  return svg;
}
