// The sidebar: trending tags and users, when the server offers them, and whom to follow.

import { api, currentUser } from "../api.js";
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
  const suggested = currentUser()
    ? await section(
        "Who to follow",
        () => api("GET", "/users/suggestions", { query: { limit: 5 } }),
        (u) => [userLink(u.user_name), h("span", { class: "muted" }, ` followed by ${u.followed_by} you follow`)],
      )
    : null;
  replace(aside, tags, people, suggested);
  aside.hidden = !tags && !people && !suggested;
  setTimeout(() => renderSidebar(aside), REFRESH_MS);
}
