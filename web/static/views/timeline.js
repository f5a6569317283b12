// A live list of tweets: first page over REST, more pages on scroll (next_cursor), new
// tweets from a stream (slid in at the top, or a "N new posts" pill when scrolled down),
// edits, deletes and counters applied in place. Cards on screen also listen to their own
// `tweet:<id>` stream so like and reply counts tick live everywhere.

import { live } from "../live.js";
import { h, replace } from "../dom.js";
import { toast } from "../ui.js";
import { tweetCard } from "./tweetcard.js";

const NEAR_TOP_PX = 150;
const MAX_WATCHED = 40; // stays under the hub's per-socket subscription limit

export function timeline({ load, stream, accept = () => true, oldestFirst = false, empty = "Nothing here yet.", label = "Tweets" }) {
  const list = h("div", { class: "tweet-list", role: "feed", "aria-label": label, "aria-busy": "true" });
  const pill = h("button", { type: "button", class: "new-pill", hidden: true });
  const more = h("button", { type: "button", class: "load-more", hidden: true }, "Load more");
  const status = h("p", { class: "muted list-status", role: "status" });
  const el = h("section", { class: "timeline" }, pill, list, status, more);
  const cards = new Map();
  const pending = [];
  const watched = new Map(); // tweet_id -> unsubscribe
  let cursor = null;
  let loading = false;
  let done = false;
  let destroyed = false;

  const visibility = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const id = entry.target.dataset.tweetId;
      if (entry.isIntersecting && !watched.has(id) && watched.size < MAX_WATCHED) {
        watched.set(id, live.subscribe(`tweet:${id}`, (frame) => onEvent(frame, true)));
      } else if (!entry.isIntersecting && watched.has(id)) {
        watched.get(id)();
        watched.delete(id);
      }
    }
  });

  function add(tweet, where) {
    if (cards.has(tweet.tweet_id)) {
      cards.get(tweet.tweet_id).update(tweet);
      return null;
    }
    const card = tweetCard(tweet);
    cards.set(tweet.tweet_id, card);
    if (where === "top") list.prepend(card);
    else list.append(card);
    visibility.observe(card);
    status.textContent = "";
    return card;
  }

  function remove(id) {
    const card = cards.get(id);
    if (!card) return;
    visibility.unobserve(card);
    if (watched.has(id)) {
      watched.get(id)();
      watched.delete(id);
    }
    cards.delete(id);
    card.remove();
    if (!cards.size && done) status.textContent = empty;
  }

  async function loadMore() {
    if (loading || done || destroyed) return;
    loading = true;
    list.setAttribute("aria-busy", "true");
    status.textContent = "Loading…";
    try {
      const page = await load(cursor);
      if (destroyed) return;
      for (const tweet of page.items) add(tweet, "bottom");
      cursor = page.next_cursor;
      done = !cursor;
      status.textContent = cards.size ? (done ? "" : "") : empty;
    } catch (err) {
      status.textContent = err.message;
    } finally {
      loading = false;
      list.setAttribute("aria-busy", "false");
      more.hidden = done;
    }
  }

  async function resync() {
    // Missed events could not be replayed: refetch the newest page and merge it in.
    try {
      const page = await load(null);
      const fresh = oldestFirst ? page.items : [...page.items].reverse();
      for (const tweet of fresh) {
        if (cards.has(tweet.tweet_id)) cards.get(tweet.tweet_id).update(tweet);
        else showNew(tweet);
      }
    } catch (err) {
      toast(err.message, "error");
    }
  }

  function nearTop() {
    return window.scrollY < NEAR_TOP_PX;
  }

  function showNew(tweet) {
    if (cards.has(tweet.tweet_id)) {
      // A tweet on screen that someone followed has just reposted: say so on its card.
      if (tweet.reposted_by) cards.get(tweet.tweet_id).update({ reposted_by: tweet.reposted_by });
      return;
    }
    if (pending.some((t) => t.tweet_id === tweet.tweet_id)) return;
    if (oldestFirst) {
      const card = add(tweet, "bottom");
      card?.classList.add("fresh");
      return;
    }
    if (nearTop()) {
      add(tweet, "top")?.classList.add("fresh");
    } else {
      pending.push(tweet);
      pill.textContent = `${pending.length} new post${pending.length === 1 ? "" : "s"}`;
      pill.hidden = false;
    }
  }

  function flush() {
    while (pending.length) add(pending.shift(), "top")?.classList.add("fresh");
    pill.hidden = true;
  }

  function onEvent(frame, fromTweetStream = false) {
    if (frame.type === "resync") {
      if (!fromTweetStream) resync();
      return;
    }
    const data = frame.data || {};
    switch (frame.event) {
      case "tweet.created":
      case "reply.created":
        if (!fromTweetStream && accept(data)) showNew(data);
        break;
      case "tweet.updated":
        cards.get(data.tweet_id)?.update(data);
        break;
      case "tweet.deleted":
        remove(data.tweet_id);
        break;
      case "tweet.counts":
        cards.get(data.tweet_id)?.setCounts(data);
        break;
      default:
        break;
    }
  }

  pill.addEventListener("click", () => {
    flush();
    window.scrollTo({ top: 0, behavior: "smooth" });
    list.querySelector(".tweet")?.focus?.();
  });
  const onScroll = () => {
    if (nearTop() && pending.length) flush();
  };
  window.addEventListener("scroll", onScroll, { passive: true });
  more.addEventListener("click", loadMore);
  const bottom = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { rootMargin: "400px" });
  bottom.observe(more);
  const stopStream = stream ? live.subscribe(stream, (frame) => onEvent(frame)) : () => {};

  loadMore();

  return {
    el,
    /** Take a tweet off the list (an un-bookmarked one on the bookmarks page). */
    remove,
    /** Show a tweet the person just posted without waiting for the stream. */
    added(tweet) {
      if (oldestFirst) add(tweet, "bottom");
      else add(tweet, "top");
    },
    destroy() {
      destroyed = true;
      stopStream();
      window.removeEventListener("scroll", onScroll);
      bottom.disconnect();
      visibility.disconnect();
      for (const stop of watched.values()) stop();
      watched.clear();
    },
    reset() {
      replace(list);
      cards.clear();
      cursor = null;
      done = false;
      loadMore();
    },
  };
}
