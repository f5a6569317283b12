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
    const el = document.createElement(tag);
    if (tag === "a") {
      const href = node.getAttribute("href") || "";
      if (SAFE_HREF.test(href.trim())) el.setAttribute("href", href.trim());
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
