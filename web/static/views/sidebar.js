// The sidebar: trending tags and users, when the server offers them.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { userLink } from "../ui.js";

const REFRESH_MS = 60_000;

async function section(title, load, render) {
  try {
    const page = await load();
    const items = (page && page.items) || [];
    if (!items.length) return null;
    return h("section", { class: "card trending" }, h("h2", {}, title), h("ol", {}, items.map((it) => h("li", {}, render(it)))));
  } catch {
    return null; // the endpoint is not there (yet) or failed: show nothing rather than noise
  }
}

export async function renderSidebar(aside) {
  const tags = await section(
    "Trending tags",
    () => api("GET", "/tags/trending", { query: { window: "24h", limit: 10 } }),
    (t) => [h("a", { href: `/tags/${encodeURIComponent(t.tag)}` }, `#${t.tag}`), h("span", { class: "muted" }, ` ${t.count ?? ""}`)],
  );
  const people = await section(
    "Trending people",
    () => api("GET", "/users/trending", { query: { limit: 5 } }),
    (u) => userLink(u.user_name || (u.user && u.user.user_name) || "unknown"),
  );
  replace(aside, tags, people);
  aside.hidden = !tags && !people;
  setTimeout(() => renderSidebar(aside), REFRESH_MS);
}
