// A tweet card's footer: reply, repost, quote, like, bookmark, and pin on one's own tweets.
//
// Accessibility (checked by tests/web/test_a11y.py with axe-core): each toggle keeps one name
// ("Like", "Repost", "Bookmark", "Pin to your profile") and says its state with aria-pressed,
// as the WAI-ARIA button pattern asks; a count is text beside its button, its noun hidden
// ("3" is seen, "3 likes" is heard), so no accessible name leaves out visible text.

import { api, currentUser } from "../api.js";
import { h, icon } from "../dom.js";
import { composer, toast } from "../ui.js";
import { quotedTweet } from "./quoted.js";

// What each count counts, for the words screen readers hear after the number.
const NOUNS = {
  reply: ["reply", "replies"],
  repost: ["repost", "reposts"],
  quote: ["quote", "quotes"],
  like: ["like", "likes"],
};

// The marks a person puts on someone's tweet: the flag and count on the Tweet, the API path.
const MARKS = {
  repost: { label: "Repost", flag: "reposted_by_me", count: "repost_count", path: "repost", icons: ["repost", "repost"], did: "Reposted.", undid: "Repost undone." },
  like: { label: "Like", flag: "liked_by_me", count: "like_count", path: "likes", icons: ["heart", "heartOutline"] },
  bookmark: { label: "Bookmark", flag: "bookmarked_by_me", path: "bookmark", icons: ["bookmark", "bookmarkOutline"], did: "Bookmarked.", undid: "Bookmark removed." },
};

/** The footer of `card` (whose `tweet` it shows); `own` are the author's extra buttons. */
export function actions(card, own) {
  const t = card.tweet;
  const me = currentUser();
  const reply = h("a", { href: `/tweets/${t.tweet_id}`, class: "action reply" }, icon("reply"), count("reply", t.reply_count));
  const quote = h(
    "button",
    { type: "button", class: "action quote", "aria-expanded": "false", disabled: !me, onclick: (e) => openQuote(card, e.currentTarget) },
    icon("quote"),
    h("span", { class: "visually-hidden" }, "Quote"),
  );
  return h(
    "footer",
    { class: "tweet-actions" },
    reply,
    pair(markButton(card, "repost"), count("repost", t.repost_count)),
    pair(quote, count("quote", t.quote_count)),
    pair(markButton(card, "like"), count("like", t.like_count)),
    me ? markButton(card, "bookmark") : null,
    me && me.user_id === t.user_id ? pinButton(t) : null,
    own,
  );
}

/** Repaint the counts in `card`'s footer from its tweet (a `tweet.counts` event). */
export function paintCounts(card) {
  for (const kind of Object.keys(NOUNS)) {
    const el = card.querySelector(`:scope > footer .${kind}-count`)?.parentElement;
    if (el) paintCount(el, kind, card.tweet[`${kind}_count`]);
  }
}

function pair(button, counter) {
  return h("span", { class: "action-pair" }, button, counter);
}

function count(kind, n) {
  const el = h("span", { class: "count" }, h("span", { class: `${kind}-count` }), h("span", { class: "visually-hidden" }));
  paintCount(el, kind, n);
  return el;
}

function paintCount(el, kind, n) {
  const value = n || 0;
  const [one, many] = NOUNS[kind];
  el.firstChild.textContent = String(value);
  el.lastChild.textContent = ` ${value === 1 ? one : many}`;
}

function toggle({ kind, label, on, icons, disabled, onclick }) {
  return h(
    "button",
    { type: "button", class: `action ${kind}${on ? " on" : ""}`, "aria-pressed": String(on), disabled, onclick },
    icon(on ? icons[0] : icons[1]),
    h("span", { class: "visually-hidden" }, label),
  );
}

function markButton(card, kind) {
  const spec = MARKS[kind];
  const on = Boolean(card.tweet[spec.flag]);
  return toggle({ kind, label: spec.label, on, icons: spec.icons, disabled: !currentUser(), onclick: () => toggleMark(card, kind) });
}

/**
 * Flip a mark now, settle it with the server's tweet (or undo it on error), and tell the
 * page (the bookmarks page drops an un-bookmarked tweet).
 */
async function toggleMark(card, kind) {
  const spec = MARKS[kind];
  const before = card.tweet;
  const on = !before[spec.flag];
  const optimistic = { [spec.flag]: on };
  if (spec.count) optimistic[spec.count] = Math.max(0, (before[spec.count] || 0) + (on ? 1 : -1));
  card.update(optimistic);
  try {
    const result = await api(on ? "POST" : "DELETE", `/tweets/${before.tweet_id}/${spec.path}`);
    if (result && result.tweet_id) card.update(result);
    if (spec.did) toast(on ? spec.did : spec.undid);
    marked(card, kind, on, before.tweet_id);
  } catch (err) {
    card.update({ [spec.flag]: before[spec.flag], ...(spec.count ? { [spec.count]: before[spec.count] } : {}) });
    toast(err.message, "error");
  }
  card.querySelector(`:scope > footer .action.${kind}`)?.focus();
}

/** Tell the page a mark changed: a bubbling `tweet-marked` event from `el`. */
function marked(el, kind, on, tweetId) {
  el.dispatchEvent(new CustomEvent("tweet-marked", { bubbles: true, detail: { kind, on, tweet_id: tweetId } }));
}

// The signed-in person's pinned tweet ids, read once (GET /users/{id}/tweets?pinned=true)
// and kept up to date by their own pins; a Tweet carries no pinned flag.
let pins = { owner: null, ids: null, loading: null };

function myPins() {
  const me = currentUser();
  if (pins.owner !== me.user_id) pins = { owner: me.user_id, ids: null, loading: null };
  const mine = pins;
  mine.loading ??= api("GET", `/users/${me.user_id}/tweets`, { query: { pinned: "true" } })
    .then((page) => (mine.ids = new Set(page.items.map((t) => t.tweet_id))))
    .catch((err) => {
      mine.loading = null; // try again next time
      throw err;
    });
  return mine.loading;
}

function paintPin(button, on) {
  button.setAttribute("aria-pressed", String(on));
  button.classList.toggle("on", on);
}

function pinButton(t) {
  const button = toggle({ kind: "pin", label: "Pin to your profile", on: false, icons: ["pin", "pin"], disabled: true });
  button.addEventListener("click", () => togglePin(t.tweet_id, button));
  myPins()
    .then((ids) => {
      paintPin(button, ids.has(t.tweet_id));
      button.disabled = false;
    })
    .catch(() => {});
  return button;
}

async function togglePin(tweetId, button) {
  const ids = await myPins();
  const on = !ids.has(tweetId);
  try {
    await api(on ? "POST" : "DELETE", `/tweets/${tweetId}/pin`);
  } catch (err) {
    toast(err.message, "error"); // at most 5: the server says so (too_many_pins)
    return;
  }
  if (on) ids.add(tweetId);
  else ids.delete(tweetId);
  // Every card of this tweet on the page (a profile shows a pinned tweet twice).
  for (const other of document.querySelectorAll(`.tweet[data-tweet-id="${tweetId}"] > footer .action.pin`)) paintPin(other, on);
  toast(on ? "Pinned to your profile." : "Unpinned from your profile.");
  marked(button, "pin", on, tweetId);
}

/** The quote composer under the card: the quoted tweet shown, posted with `quote_of`. */
function openQuote(card, button) {
  const open = card.querySelector(":scope > .quote-form");
  if (open) {
    open.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const t = card.tweet;
  const close = () => {
    form.remove();
    card.querySelector(":scope > footer .action.quote")?.setAttribute("aria-expanded", "false");
    card.querySelector(":scope > footer .action.quote")?.focus();
  };
  const form = composer({
    label: `Quote @${t.user_name}'s tweet`,
    button: "Post quote",
    onCancel: close,
    submit: async (content, _media, idempotencyKey) => {
      await api("POST", "/tweets", { body: { content, quote_of: t.tweet_id }, idempotencyKey });
      close();
      toast("Quote posted.");
    },
  });
  form.classList.add("quote-form");
  // The quoted tweet as the quote will show it, above the composer's buttons.
  form.querySelector(".composer-bar").before(quotedTweet(t));
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  card.append(form);
  button.setAttribute("aria-expanded", "true");
  form.focusInput();
}
