// The home timeline, the public timeline and hashtag pages.

import { api, currentUser } from "../api.js";
import { h, replace } from "../dom.js";
import { composer, toast } from "../ui.js";
import { timeline } from "./timeline.js";

const PAGE = 20;

function pageLoader(path, extra = {}) {
  return (cursor) => api("GET", path, { query: { limit: PAGE, cursor, ...extra } });
}

export function homeView({ main }) {
  const me = currentUser();
  if (!me) return publicView({ main, welcome: true });
  let fellBack = false;
  const following = pageLoader("/tweets/following", { sort: "latest" });
  const everyone = pageLoader("/tweets", { sort: "latest" });
  const note = h("p", { class: "muted", hidden: true });
  const feed = timeline({
    label: "Home timeline",
    stream: "home",
    empty: "Your timeline is empty. Follow people (try Explore) or post something.",
    load: async (cursor) => {
      if (fellBack) return everyone(cursor);
      try {
        return await following(cursor);
      } catch (err) {
        if (err.status !== 404 || err.code !== "not_found") throw err;
        fellBack = true; // this server has no home timeline yet
        note.textContent = "The home timeline is not available on this server; showing everyone's tweets.";
        note.hidden = false;
        return everyone(cursor);
      }
    },
  });
  const box = composer({
    media: true,
    submit: async (content, mediaIds, idempotencyKey) => {
      const tweet = await api("POST", "/tweets", { body: { content, media_ids: mediaIds }, idempotencyKey });
      feed.added(tweet);
      toast("Posted.");
    },
  });
  replace(main, h("h1", {}, "Home"), box, note, feed.el);
  return () => feed.destroy();
}

export function publicView({ main, welcome = false }) {
  const feed = timeline({
    label: "Everyone's tweets",
    stream: "public",
    load: pageLoader("/tweets", { sort: "latest" }),
  });
  const intro = welcome
    ? h(
        "section",
        { class: "card welcome" },
        h("p", {}, "Murmur is a small, live social network. ", h("a", { href: "/signup" }, "Create an account"), " or ", h("a", { href: "/login" }, "sign in"), " to post and follow people."),
      )
    : null;
  replace(main, h("h1", {}, welcome ? "Welcome to Murmur" : "Explore"), intro, feed.el);
  return () => feed.destroy();
}

export function tagView({ main, params }) {
  const tag = params[0].replace(/^#/, "").toLowerCase();
  const feed = timeline({
    label: `Tweets tagged #${tag}`,
    stream: `hashtag:${tag}`,
    empty: `No tweets with #${tag} yet.`,
    load: pageLoader(`/tags/${encodeURIComponent(tag)}/tweets`),
  });
  replace(main, h("h1", {}, `#${tag}`), feed.el);
  return () => feed.destroy();
}
