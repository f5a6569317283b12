// Search results for /search?q=...

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { timeline } from "./timeline.js";

export function searchView({ main, query }) {
  const q = (query.get("q") || "").trim();
  if (!q) {
    replace(main, h("h1", {}, "Search"), h("p", { class: "muted" }, "Type words, #tags or @names in the search box above. Quotes find phrases; -word excludes."));
    document.getElementById("search-q").focus();
    return null;
  }
  const results = timeline({
    label: `Results for ${q}`,
    empty: "No tweets match.",
    load: async (cursor) => {
      try {
        return await api("GET", "/search/tweets", { query: { q, limit: 20, cursor } });
      } catch (err) {
        if (err.status === 404 && err.code === "not_found") err.message = "Search is not available on this server yet.";
        throw err;
      }
    },
  });
  replace(main, h("h1", {}, "Search: ", h("span", { class: "query" }, q)), results.el);
  return () => results.destroy();
}
