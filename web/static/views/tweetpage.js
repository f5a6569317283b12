// One tweet in its conversation: the tweets it replies to above, the replies below
// (views/thread.js); new replies and counters arrive live.

import { api, currentUser } from "../api.js";
import { h, replace } from "../dom.js";
import { live } from "../live.js";
import { composer, toast } from "../ui.js";
import { thread } from "./thread.js";
import { tweetCard } from "./tweetcard.js";

export async function tweetView({ main, params }) {
  const id = params[0];
  let tweet;
  try {
    tweet = await api("GET", `/tweets/${encodeURIComponent(id)}`);
  } catch (err) {
    replace(main, h("h1", {}, "Tweet"), h("p", { role: "alert" }, err.status === 404 ? "This tweet does not exist or was deleted." : err.message));
    return null;
  }
  const card = tweetCard(tweet);
  card.classList.add("focus");
  const stop = live.subscribe(`tweet:${id}`, (frame) => {
    const data = frame.data || {};
    if (frame.type === "resync") {
      api("GET", `/tweets/${encodeURIComponent(id)}`).then((t) => card.update(t)).catch(() => {});
    } else if (data.tweet_id !== id) {
      return;
    } else if (frame.event === "tweet.counts") card.setCounts(data);
    else if (frame.event === "tweet.updated") card.update(data);
    else if (frame.event === "tweet.deleted") card.markDeleted();
  });
  const replies = thread(tweet);
  const reply = currentUser()
    ? composer({
        label: `Reply to @${tweet.user_name}`,
        button: "Reply",
        submit: async (content, _media, idempotencyKey) => {
          const created = await api("POST", `/tweets/${encodeURIComponent(id)}/comments`, { body: { content }, idempotencyKey });
          replies.added(created);
          toast("Reply posted.");
        },
      })
    : h("p", { class: "muted" }, h("a", { href: `/login?next=/tweets/${id}` }, "Sign in"), " to reply.");
  replace(
    main,
    h("h1", { class: "visually-hidden" }, `Tweet by @${tweet.user_name}`),
    replies.ancestors,
    card,
    reply,
    h("h2", { class: "section-title" }, "Replies"),
    replies.replies,
  );
  return () => {
    stop();
    replies.destroy();
  };
}
