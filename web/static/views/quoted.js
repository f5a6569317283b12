// The tweet a quote embeds, inside the quote's card (and in the quote composer).
//
// REST reads fill `quote_of` in as the reader may see it (`unavailable` when the quoted tweet
// was deleted or hidden, or a block stands between). A live `tweet.created` carries only the
// quoted tweet's id and author, so the text is fetched here, as this reader, when missing.

import { api } from "../api.js";
import { h, replace, timeEl, trustedTweetHtml } from "../dom.js";
import { userLink } from "../ui.js";

const UNAVAILABLE = "The quoted tweet is unavailable.";

/** The embedded tweet; `onFetched(quote)` hears the text fetched for a bare live quote. */
export function quotedTweet(quote, onFetched = () => {}) {
  const box = h("div", { class: "quoted", role: "group" });
  if (quote.unavailable) paintUnavailable(box);
  else if (quote.html == null) {
    // Only the id and author came (a live event): show who, then the text once fetched.
    box.setAttribute("aria-label", `Quoted tweet by @${quote.user_name}`);
    replace(box, h("p", { class: "muted" }, "Loading the quoted tweet…"));
    api("GET", `/tweets/${encodeURIComponent(quote.tweet_id)}`)
      .then((full) => {
        paint(box, full);
        onFetched(full);
      })
      .catch(() => {
        paintUnavailable(box);
        onFetched({ tweet_id: quote.tweet_id, unavailable: true });
      });
  } else paint(box, quote);
  return box;
}

function paint(box, q) {
  box.classList.remove("quoted-unavailable");
  box.setAttribute("aria-label", `Quoted tweet by @${q.user_name}`);
  replace(
    box,
    h(
      "p",
      { class: "tweet-head" },
      userLink(q.user_name, { class: "user-link author" }),
      h("span", { class: "dot", "aria-hidden": "true" }, "·"),
      h("a", { href: `/tweets/${q.tweet_id}`, class: "permalink" }, timeEl(q.created_at), h("span", { class: "visually-hidden" }, ", open the quoted tweet")),
    ),
    h("div", { class: "tweet-body" }, trustedTweetHtml(q.html || "")),
  );
}

function paintUnavailable(box) {
  box.classList.add("quoted-unavailable");
  box.setAttribute("aria-label", "Quoted tweet");
  replace(box, h("p", { class: "muted" }, UNAVAILABLE));
}
