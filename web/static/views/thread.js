// A conversation below (and above) one tweet, from GET /tweets/{id}/context: the chain up to
// the root, then the replies depth first, each indented under its parent (its in_reply_to).
// New replies arrive live as reply.created on the parent's tweet:<id> stream: the focused
// tweet's, and those of the replies on the page (at most MAX_WATCHED streams, under the hub's
// per-socket limit). A resync refetches the first page and merges it in.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { live } from "../live.js";
import { tweetCard } from "./tweetcard.js";

const MAX_WATCHED = 30;
const MAX_INDENT = 6; // deeper replies line up at this depth ("replying to" says the rest)

export function thread(focus) {
  const ancestors = h("div", { class: "thread-ancestors", role: "list", "aria-label": "Earlier in the conversation" });
  const list = h("div", { class: "thread-replies", role: "list", "aria-label": "Replies" });
  const status = h("p", { class: "muted list-status", role: "status" });
  const more = h("button", { type: "button", class: "load-more", hidden: true }, "More replies");
  const depth = new Map([[focus.tweet_id, 0]]);
  const items = new Map(); // reply id -> its list item (the card inside)
  const watched = new Map(); // tweet id -> unsubscribe
  let cursor = null;
  let destroyed = false;

  function item(tweet, level) {
    const card = tweetCard(tweet);
    const parent = tweet.in_reply_to;
    const note = level > MAX_INDENT && parent && items.get(parent)
      ? h("p", { class: "muted replying-to" }, `Replying to @${items.get(parent).card.tweet.user_name}`)
      : null;
    const el = h("div", { role: "listitem", class: `thread-item depth-${Math.min(level, MAX_INDENT)}`, dataset: { depth: String(level) } }, note, card);
    el.card = card;
    return el;
  }

  function watch(id) {
    if (watched.has(id) || watched.size >= MAX_WATCHED) return;
    watched.set(id, live.subscribe(`tweet:${id}`, onEvent));
  }

  // Where a new reply to `parent` goes in depth-first order: after the parent's last
  // descendant on the page (replies are listed oldest first, so a new one is the last).
  function insertionPoint(parent) {
    if (parent === focus.tweet_id) return null; // the end of the list
    const start = items.get(parent);
    if (!start) return undefined; // not on the page
    const level = Number(start.dataset.depth);
    let next = start.nextElementSibling;
    while (next && Number(next.dataset.depth) > level) next = next.nextElementSibling;
    return next;
  }

  function add(tweet, { fresh = false } = {}) {
    if (items.has(tweet.tweet_id)) {
      items.get(tweet.tweet_id).card.update(tweet);
      return;
    }
    const parentDepth = depth.get(tweet.in_reply_to);
    if (parentDepth === undefined) return; // its parent is not shown (left out, or gone)
    const before = insertionPoint(tweet.in_reply_to);
    if (before === undefined) return;
    const level = parentDepth + 1;
    const el = item(tweet, level);
    if (fresh) el.card.classList.add("fresh");
    depth.set(tweet.tweet_id, level);
    items.set(tweet.tweet_id, el);
    list.insertBefore(el, before);
    watch(tweet.tweet_id);
    status.textContent = "";
  }

  function onEvent(frame) {
    if (frame.type === "resync") {
      load(null, true);
      return;
    }
    const data = frame.data || {};
    const el = items.get(data.tweet_id);
    if (frame.event === "reply.created") add(data, { fresh: true });
    else if (!el) return;
    else if (frame.event === "tweet.counts") el.card.setCounts(data);
    else if (frame.event === "tweet.updated") el.card.update(data);
    else if (frame.event === "tweet.deleted") el.card.markDeleted();
  }

  async function load(from, merge = false) {
    list.setAttribute("aria-busy", "true");
    try {
      const page = await api("GET", `/tweets/${encodeURIComponent(focus.tweet_id)}/context`, { query: { cursor: from } });
      if (destroyed) return;
      if (!from && !merge) replace(ancestors, ...page.ancestors.map((t) => h("div", { role: "listitem", class: "thread-item" }, tweetCard(t))));
      for (const tweet of page.descendants) add(tweet);
      if (!merge) cursor = page.next_cursor;
      more.hidden = !cursor;
      status.textContent = items.size ? "" : "No replies yet.";
    } catch (err) {
      status.textContent = err.message;
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }

  more.addEventListener("click", () => load(cursor));
  watch(focus.tweet_id);
  load(null);

  return {
    ancestors,
    replies: h("section", { class: "thread" }, list, status, more),
    /** Show a reply the person just posted without waiting for the stream. */
    added(tweet) {
      add(tweet);
    },
    destroy() {
      destroyed = true;
      for (const stop of watched.values()) stop();
      watched.clear();
    },
  };
}
