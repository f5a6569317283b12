// Notifications: the page, and the bell in the header with a live unread count.

import { api } from "../api.js";
import { h, replace, timeEl } from "../dom.js";
import { live } from "../live.js";
import { paintCount, safely, userLink } from "../ui.js";

let unread = 0;
const pageListeners = new Set();

function paintBell() {
  paintCount("bell-count", unread);
}

function countOf(body) {
  if (typeof body === "number") return body;
  for (const key of ["count", "unread_count", "unread"]) if (body && typeof body[key] === "number") return body[key];
  return 0;
}

async function fetchCount() {
  try {
    unread = countOf(await api("GET", "/notifications/unread-count"));
  } catch {
    unread = 0; // not signed in, or no notifications on this server yet
  }
  paintBell();
}

/** Keep the bell live while signed in; returns {stop, refresh}. */
export function startBell() {
  fetchCount();
  const stop = live.subscribe("notifications", (frame) => {
    if (frame.type === "resync") fetchCount();
    else if (frame.event === "notification.created") {
      if (pageListeners.size) for (const fn of pageListeners) fn(frame.data);
      else {
        unread += 1;
        paintBell();
      }
    }
  });
  return { stop, refresh: paintBell };
}

function idOf(n) {
  return n.notification_id || n.id || n._id;
}

function actorName(n) {
  const a = n.actor;
  if (a && typeof a === "object") return a.user_name;
  return n.actor_name || n.actor_user_name || n.actor_username || (typeof a === "string" ? a : null);
}

const VERBS = {
  follow: "followed you",
  like: "liked your tweet",
  reply: "replied to your tweet",
  mention: "mentioned you",
  repost: "reposted your tweet",
  quote: "quoted your tweet",
};

function item(n) {
  const kind = n.kind || n.type || "notification";
  const name = actorName(n);
  const tweetId = n.tweet_id || (n.tweet && n.tweet.tweet_id) || n.target_tweet_id;
  return h(
    "li",
    { class: `card notification${n.read ? "" : " unread"}`, dataset: { kind } },
    h("p", {}, name ? userLink(name) : "Someone", " ", VERBS[kind] || kind, tweetId ? [" · ", h("a", { href: `/tweets/${tweetId}` }, "view")] : null),
    n.created_at ? h("p", { class: "muted" }, timeEl(n.created_at)) : null,
  );
}

export async function notificationsView({ main, navigate }) {
  const list = h("ul", { class: "notification-list", "aria-label": "Notifications" });
  const status = h("p", { class: "muted", role: "status" }, "Loading…");
  const more = h("button", { type: "button", class: "load-more", hidden: true }, "Load more");
  const onlyUnread = h("input", { type: "checkbox", id: "only-unread" });
  let cursor = null;
  let newest = null;

  async function markRead(upTo) {
    if (!upTo) return;
    await safely(() => api("POST", "/notifications/read", { body: { up_to_id: upTo } }));
    unread = 0;
    paintBell();
  }

  async function load(reset = false) {
    if (reset) {
      replace(list);
      cursor = null;
    }
    try {
      const page = await api("GET", "/notifications", { query: { limit: 30, cursor, unread_only: onlyUnread.checked ? "true" : undefined } });
      for (const n of page.items) list.append(item(n));
      if (!newest && page.items.length) newest = idOf(page.items[0]);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      status.textContent = list.children.length ? "" : "No notifications yet.";
    } catch (err) {
      if (err.status === 401) navigate("/login?next=/notifications");
      status.textContent = err.status === 404 && err.code === "not_found" ? "Notifications are not available on this server yet." : err.message;
    }
  }

  const onLive = (n) => {
    list.prepend(item(n));
    status.textContent = "";
    newest = idOf(n);
    markRead(newest);
  };
  pageListeners.add(onLive);
  onlyUnread.addEventListener("change", () => load(true));
  more.addEventListener("click", () => load());
  replace(
    main,
    h("h1", {}, "Notifications"),
    h("p", { class: "field-inline" }, onlyUnread, h("label", { for: "only-unread" }, " Unread only")),
    list,
    status,
    more,
  );
  await load();
  await markRead(newest);
  return () => pageListeners.delete(onLive);
}
