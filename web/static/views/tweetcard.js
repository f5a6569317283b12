// One tweet on screen. The card keeps its tweet and can be updated in place by live events.

import { api, currentUser } from "../api.js";
import { h, icon, replace, timeEl, trustedTweetHtml } from "../dom.js";
import { composer, errorBox, field, safely, toast, userLink } from "../ui.js";
import { mediaGrid } from "./media.js";
import { quotedTweet } from "./quoted.js";
import { actions, paintCounts } from "./tweetactions.js";

export function tweetCard(tweet, { compact = false } = {}) {
  const card = h("article", { class: "tweet", dataset: { tweetId: tweet.tweet_id } });
  card.tweet = tweet;
  card.showOriginal = false;
  card.editing = false;
  card.update = (next) => {
    // Edits, likes and the like answer with the bare tweet: who reposted it into this
    // timeline stays, and an embedded quote keeps its text unless a fuller one comes.
    const reposted_by = next.reposted_by ?? card.tweet.reposted_by;
    const full = next.quote_of && (next.quote_of.html != null || next.quote_of.unavailable);
    const quote_of = full ? next.quote_of : card.tweet.quote_of ?? next.quote_of;
    card.tweet = { ...card.tweet, ...next, reposted_by, quote_of };
    render(card, compact);
  };
  card.setCounts = (counts) => {
    card.tweet = { ...card.tweet, ...counts };
    paintCounts(card);
  };
  card.markDeleted = () => {
    card.classList.add("deleted");
    replace(card, h("p", { class: "muted" }, "This tweet was deleted."));
  };
  render(card, compact);
  return card;
}

function render(card, compact) {
  const t = card.tweet;
  const me = currentUser();
  const mine = me && me.user_id === t.user_id;
  if (card.editing) {
    replace(card, editForm(card, compact));
    return;
  }
  const header = h(
    "header",
    { class: "tweet-head" },
    userLink(t.user_name, { class: "user-link author" }),
    h("span", { class: "dot", "aria-hidden": "true" }, "·"),
    // Named by what it shows (the time) plus hidden words, never by an aria-label that
    // leaves the visible text out (WCAG 2.5.3: speech users say what they see).
    h("a", { href: `/tweets/${t.tweet_id}`, class: "permalink" }, timeEl(t.created_at), h("span", { class: "visually-hidden" }, ", open tweet")),
    t.edited
      ? h(
          "button",
          {
            type: "button",
            class: "link-button edited",
            "aria-expanded": String(card.showOriginal),
            title: t.edited_at ? `Edited ${new Date(t.edited_at).toLocaleString()}` : "Edited",
            onclick: () => {
              card.showOriginal = !card.showOriginal;
              render(card, compact);
            },
          },
          card.showOriginal ? "edited · hide original" : "edited · show original",
        )
      : null,
  );
  const context = t.in_reply_to
    ? h(
        "p",
        { class: "reply-context muted" },
        t.parent_deleted ? "Replying to a deleted tweet" : h("a", { href: `/tweets/${t.in_reply_to}` }, "Replying to a tweet"),
      )
    : null;
  const body = h("div", { class: "tweet-body" }, trustedTweetHtml(t.html));
  const original =
    t.edited && card.showOriginal
      ? h("div", { class: "original" }, h("p", { class: "muted" }, "Original:"), h("p", { class: "original-text" }, t.original_content || ""))
      : null;

  const own = mine
    ? [
        h("button", { type: "button", class: "action", onclick: () => { card.editing = true; render(card, compact); } }, "Edit"),
        deleteButton(card),
      ]
    : me
      ? [reportButton(card)]
      : [];
  // Fetched text is kept on the card so that a repaint does not fetch it again.
  const quoted = t.quote_of ? quotedTweet(t.quote_of, (q) => (card.tweet.quote_of = q)) : null;
  replace(card, repostedBy(t), context, header, body, mediaGrid(t), quoted, original, actions(card, own));
}

/** "Reposted by @name" above a tweet a followed person reposted into the home timeline. */
function repostedBy(t) {
  const by = t.reposted_by;
  if (!by) return null;
  return h("p", { class: "repost-context muted" }, icon("repost"), " Reposted by ", userLink(by.user_name));
}

function deleteButton(card) {
  const wrap = h("span", { class: "delete-wrap" });
  const ask = h("button", { type: "button", class: "action danger" }, "Delete");
  ask.addEventListener("click", () => {
    const yes = h("button", { type: "button", class: "danger" }, "Yes, delete");
    const no = h("button", { type: "button" }, "Keep");
    replace(wrap, h("span", { role: "group", "aria-label": "Confirm delete" }, "Delete this tweet? ", yes, " ", no));
    yes.focus();
    no.addEventListener("click", () => replace(wrap, ask));
    yes.addEventListener("click", () =>
      safely(async () => {
        await api("DELETE", `/tweets/${card.tweet.tweet_id}`);
        card.markDeleted();
        toast("Tweet deleted.");
      }),
    );
  });
  wrap.append(ask);
  return wrap;
}

function reportButton(card) {
  const btn = h("button", { type: "button", class: "action report", "aria-expanded": "false" }, "Report");
  const close = () => {
    card.querySelector(".report-form")?.remove();
    btn.setAttribute("aria-expanded", "false");
  };
  btn.addEventListener("click", () => {
    if (card.querySelector(".report-form")) {
      close();
      return;
    }
    const form = reportForm(card, () => {
      close();
      btn.focus();
    });
    card.append(form);
    btn.setAttribute("aria-expanded", "true");
    form.querySelector("input").focus();
  });
  return btn;
}

/** Ask the moderators to look at a tweet: a reason, once per tweet (409 after). */
function reportForm(card, done) {
  const reason = field({ label: "Why are you reporting this tweet?", name: "reason", maxlength: 500, hint: "For example: spam, harassment, misleading." });
  const error = errorBox();
  const send = h("button", { type: "submit", class: "danger" }, "Send report");
  const cancel = h("button", { type: "button", onclick: done }, "Cancel");
  const form = h("form", { class: "report-form form" }, reason.wrap, error, h("div", { class: "row" }, send, cancel));
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") done();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.show(null);
    send.disabled = true;
    try {
      await api("POST", `/tweets/${card.tweet.tweet_id}/report`, { body: { reason: reason.input.value.trim() } });
      done();
      toast("Thank you. The moderators will review this tweet.");
    } catch (err) {
      error.show(err.status === 409 ? { message: "You already reported this tweet. The moderators will review it." } : err);
    } finally {
      send.disabled = false;
    }
  });
  return form;
}

function editForm(card, compact) {
  return composer({
    label: "Edit your tweet",
    button: "Save",
    initial: card.tweet.content,
    submit: async (content) => {
      const updated = await api("PATCH", `/tweets/${card.tweet.tweet_id}`, { body: { content } });
      card.editing = false;
      card.update(updated);
    },
    onCancel: () => {
      card.editing = false;
      render(card, compact);
    },
  });
}
