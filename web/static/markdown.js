// A small Markdown preview built from DOM nodes (never HTML strings), so whatever the
// person types can only ever become text. It approximates the server's renderer; the
// posted tweet shows the server's own sanitized HTML.

import { h } from "./dom.js";

const INLINE = new RegExp(
  [
    "(`[^`]+`)", // code
    "(\\*\\*[^*]+\\*\\*|__[^_]+__)", // strong
    "(\\*[^*\\s][^*]*\\*|_[^_\\s][^_]*_)", // em
    "(~~[^~]+~~)", // del
    "(\\[[^\\]]+\\]\\([^)\\s]+\\))", // link
    "((?<![\\w#&])#\\w{1,64})", // hashtag
    "((?<![\\w@])@[A-Za-z0-9_]{3,30}\\b)", // mention
    "(https?:\\/\\/[^\\s<]+)", // bare link
  ].join("|"),
  "gu",
);

function inline(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const [token] = m;
    if (m[1]) out.push(h("code", {}, token.slice(1, -1)));
    else if (m[2]) out.push(h("strong", {}, inline(token.slice(2, -2))));
    else if (m[3]) out.push(h("em", {}, inline(token.slice(1, -1))));
    else if (m[4]) out.push(h("del", {}, inline(token.slice(2, -2))));
    else if (m[5]) {
      const [, label, href] = token.match(/^\[([^\]]+)\]\(([^)\s]+)\)$/);
      out.push(/^https?:\/\//i.test(href) ? h("a", { href, rel: "nofollow noopener", target: "_blank" }, label) : label);
    } else if (m[6]) out.push(h("a", { href: `/tags/${token.slice(1).toLowerCase()}`, class: "hashtag" }, token));
    else if (m[7]) out.push(h("a", { href: `/${token}`, class: "mention" }, token));
    else if (m[8]) out.push(h("a", { href: token, rel: "nofollow noopener", target: "_blank" }, token));
    last = m.index + token.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function lines(block) {
  const parts = [];
  block.split("\n").forEach((line, i) => {
    if (i) parts.push(h("br"));
    parts.push(inline(line));
  });
  return parts;
}

/** A fragment previewing `source` as Markdown. */
export function preview(source) {
  const fragment = document.createDocumentFragment();
  const blocks = source.replace(/\r\n/g, "\n").split(/\n{2,}/);
  for (const raw of blocks) {
    const block = raw.replace(/^\n+|\n+$/g, "");
    if (!block) continue;
    const rows = block.split("\n");
    if (block.startsWith("```")) {
      fragment.append(h("pre", {}, h("code", {}, block.replace(/^```\w*\n?|```$/g, ""))));
    } else if (rows.every((r) => /^>\s?/.test(r))) {
      fragment.append(h("blockquote", {}, h("p", {}, lines(rows.map((r) => r.replace(/^>\s?/, "")).join("\n")))));
    } else if (rows.every((r) => /^[-*+]\s+/.test(r))) {
      fragment.append(h("ul", {}, rows.map((r) => h("li", {}, inline(r.replace(/^[-*+]\s+/, ""))))));
    } else if (rows.every((r) => /^\d+[.)]\s+/.test(r))) {
      fragment.append(h("ol", {}, rows.map((r) => h("li", {}, inline(r.replace(/^\d+[.)]\s+/, ""))))));
    } else if (/^#{1,6}\s/.test(block) && rows.length === 1) {
      const level = block.match(/^#+/)[0].length;
      fragment.append(h(`h${level}`, {}, inline(block.replace(/^#+\s/, ""))));
    } else {
      fragment.append(h("p", {}, lines(block)));
    }
  }
  return fragment;
}
