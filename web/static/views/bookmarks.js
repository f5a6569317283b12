// Bookmarks (/bookmarks): the signed-in person's private list, newest bookmark first.

import { api, currentUser } from "../api.js";
import { h, replace } from "../dom.js";
import { timeline } from "./timeline.js";

export function bookmarksView({ main }) {
  if (!currentUser()) {
    replace(main, h("h1", {}, "Bookmarks"), h("p", {}, h("a", { href: "/login?next=/bookmarks" }, "Sign in"), " to see your bookmarks."));
    return null;
  }
  const feed = timeline({
    label: "Your bookmarks",
    empty: "No bookmarks yet. Use the bookmark button under a tweet to keep it here.",
    load: (cursor) => api("GET", "/users/me/bookmarks", { query: { limit: 20, cursor } }),
  });
  // A tweet un-bookmarked here leaves the list; focus moves to the next one (or the list).
  feed.el.addEventListener("tweet-marked", ({ target, detail }) => {
    if (detail.kind !== "bookmark" || detail.on) return;
    const next = target.nextElementSibling || target.previousElementSibling;
    feed.remove(detail.tweet_id);
    (next?.querySelector(".action.bookmark") || main).focus();
  });
  replace(main, h("h1", {}, "Bookmarks"), h("p", { class: "muted" }, "Only you can see your bookmarks, newest first."), feed.el);
  return () => feed.destroy();
}
