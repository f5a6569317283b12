// Profiles (/@name): counts, follow/unfollow, pinned tweets then the rest; followers and
// following lists.

import { api, currentUser, updateUser } from "../api.js";
import { h, replace, timeEl } from "../dom.js";
import { errorBox, field, safely, toast, userLink } from "../ui.js";
import { timeline } from "./timeline.js";
import { tweetCard } from "./tweetcard.js";

async function loadUser(name) {
  return api("GET", `/users/by-name/${encodeURIComponent(name)}`);
}

function counts(user) {
  // `label` names the count's class (tests and styles); `one` is the word for exactly one.
  const stat = (n, label, one, href) =>
    h(href ? "a" : "span", { class: "stat", href }, h("strong", { class: `count-${label}` }, String(n ?? 0)), ` ${n === 1 ? one : label}`);
  return h(
    "p",
    { class: "stats" },
    stat(user.tweet_count, "tweets", "tweet"),
    stat(user.following_count, "following", "following", `/@${user.user_name}/following`),
    stat(user.follower_count, "followers", "follower", `/@${user.user_name}/followers`),
  );
}

// The signed-in person's buttons for someone else: follow, mute, block. Each toggles one
// relation and repaints all three from the server's answer (blocking also ends follows).
const RELATIONS = [
  { kind: "follow", flag: "following", on: "Unfollow", off: "Follow", primary: true, did: "You follow", undid: "You unfollowed" },
  { kind: "mute", flag: "muting", on: "Unmute", off: "Mute", did: "You muted", undid: "You unmuted" },
  { kind: "block", flag: "blocking", on: "Unblock", off: "Block", danger: true, did: "You blocked", undid: "You unblocked" },
];

function relationButtons(user, onChange) {
  const rel = () => user.relationship || {};
  const buttons = RELATIONS.map((spec) => {
    const btn = h("button", { type: "button", dataset: { relation: spec.kind } });
    btn.addEventListener("click", () =>
      safely(async () => {
        const on = Boolean(rel()[spec.flag]);
        const before = rel();
        for (const b of buttons) b.disabled = true;
        try {
          user.relationship = await api(on ? "DELETE" : "POST", `/users/${user.user_id}/${spec.kind}`);
          paint();
          toast(`${user.relationship[spec.flag] ? spec.did : spec.undid} @${user.user_name}.`);
          onChange(before, user.relationship);
        } finally {
          for (const b of buttons) b.disabled = false;
        }
      }),
    );
    return btn;
  });
  function paint() {
    RELATIONS.forEach((spec, i) => {
      const on = Boolean(rel()[spec.flag]);
      const btn = buttons[i];
      btn.textContent = on ? spec.on : spec.off;
      btn.className = `relation ${spec.kind}${!on && spec.primary ? " primary" : ""}${!on && spec.danger ? " danger" : ""}`;
      btn.setAttribute("aria-pressed", String(on));
      // You cannot follow someone you block (the server would refuse).
      btn.hidden = spec.kind === "follow" && Boolean(rel().blocking);
    });
  }
  paint();
  return h("div", { class: "relations", role: "group", "aria-label": `Your relationship with @${user.user_name}` }, buttons, rel().blocked_by ? h("p", { class: "muted" }, `@${user.user_name} blocked you.`) : null);
}

function editProfile(user, done) {
  const meta = user.user_metadata || {};
  const display = field({ label: "Display name", name: "display_name", required: false, maxlength: 50, value: meta.display_name || "" });
  const bio = field({ label: "Bio", name: "bio", required: false, maxlength: 160, value: meta.bio || "" });
  const where = field({ label: "Location", name: "location", required: false, maxlength: 30, value: meta.location || "" });
  const site = field({ label: "Website", name: "website", type: "url", required: false, maxlength: 100, value: meta.website || "", placeholder: "https://" });
  const error = errorBox();
  const form = h("form", { class: "card form" }, display.wrap, bio.wrap, where.wrap, site.wrap, error, h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Save"), h("button", { type: "button", onclick: () => done(null) }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (input) => input.value.trim() || null;
    try {
      const me = await api("PATCH", "/users/me", {
        body: { display_name: value(display.input), bio: value(bio.input), location: value(where.input), website: value(site.input) },
      });
      updateUser(me);
      done(me);
    } catch (err) {
      error.show(err);
    }
  });
  return form;
}

export async function profileView({ main, params }) {
  let user;
  try {
    user = await loadUser(params[0]);
  } catch (err) {
    replace(main, h("h1", {}, `@${params[0]}`), h("p", { role: "alert" }, err.status === 404 ? "There is no one with that name." : err.message));
    return null;
  }
  const me = currentUser();
  const head = h("section", { class: "profile card" });
  // The server counts a follow a moment after answering (its outbox worker), so the counts
  // move here from the relationship the answer carries, as they will on the server.
  const refreshCounts = (before, after) => {
    const delta = (flag) => Number(Boolean(after[flag])) - Number(Boolean(before[flag]));
    user = {
      ...user,
      follower_count: Math.max(0, (user.follower_count || 0) + delta("following")),
      following_count: Math.max(0, (user.following_count || 0) + delta("followed_by")),
    };
    paint();
  };
  if (me && me.user_id !== user.user_id) {
    try {
      const rel = await api("GET", `/users/${user.user_id}/relationship`);
      user = { ...user, relationship: rel };
    } catch {
      // unknown: the button starts as "Follow" and learns from the server's answer
    }
  }
  const follow = me && me.user_id !== user.user_id ? relationButtons(user, refreshCounts) : null;
  function paint() {
    const meta = user.user_metadata || {};
    const mine = me && me.user_id === user.user_id;
    const edit = mine
      ? h("button", {
          type: "button",
          onclick: () =>
            replace(head, editProfile(user, (updated) => {
              if (updated) user = { ...user, ...updated };
              paint();
            })),
        }, "Edit profile")
      : null;
    replace(
      head,
      h("div", { class: "profile-top" }, h("div", {}, h("h1", {}, meta.display_name || user.user_name), h("p", { class: "muted handle" }, `@${user.user_name}`, user.role !== "user" ? ` · ${user.role}` : "")), follow || edit),
      meta.bio ? h("p", { class: "bio" }, meta.bio) : null,
      h(
        "p",
        { class: "muted meta" },
        meta.location ? `${meta.location} · ` : "",
        meta.website && /^https?:\/\//.test(meta.website) ? [h("a", { href: meta.website, rel: "nofollow noopener", target: "_blank" }, meta.website.replace(/^https?:\/\//, "")), " · "] : "",
        "Joined ",
        timeEl(user.created_at),
      ),
      user.suspended ? h("p", { class: "form-error" }, "This account is suspended.") : null,
      counts(user),
    );
  }
  paint();
  const feed = timeline({
    label: `Tweets by @${user.user_name}`,
    stream: `user:${user.user_id}`,
    empty: `@${user.user_name} has not posted yet.`,
    load: (cursor) => api("GET", `/users/${user.user_id}/tweets`, { query: { limit: 20, cursor } }),
  });
  const pinned = h("section", { class: "pinned", "aria-labelledby": "pinned-title", hidden: true });
  const showPinned = () => loadPinned(user, pinned);
  showPinned();
  // Pinning or unpinning on this page (the owner's own cards) redraws the pinned section.
  const onMarked = ({ detail }) => detail.kind === "pin" && showPinned();
  main.addEventListener("tweet-marked", onMarked);
  replace(main, head, pinned, h("h2", { class: "section-title" }, "Tweets"), feed.el);
  return () => {
    main.removeEventListener("tweet-marked", onMarked);
    feed.destroy();
  };
}

/** The pinned tweets (at most 5, newest pin first) above the rest; hidden when none. */
async function loadPinned(user, section) {
  let page;
  try {
    page = await api("GET", `/users/${user.user_id}/tweets`, { query: { pinned: "true" } });
  } catch {
    return; // the section stays as it was: the profile's own list still shows every tweet
  }
  replace(section, h("h2", { class: "section-title", id: "pinned-title" }, "Pinned"), h("div", { class: "tweet-list" }, page.items.map((t) => tweetCard(t))));
  section.hidden = page.items.length === 0;
}

export async function followListView({ main, params }) {
  const [name, which] = params;
  let user;
  try {
    user = await loadUser(name);
  } catch (err) {
    replace(main, h("h1", {}, `@${name}`), h("p", { role: "alert" }, err.message));
    return null;
  }
  const list = h("ul", { class: "user-list" });
  const status = h("p", { class: "muted", role: "status" }, "Loading…");
  const more = h("button", { type: "button", class: "load-more", hidden: true }, "Load more");
  let cursor = null;
  async function load() {
    more.hidden = true;
    try {
      const page = await api("GET", `/users/${user.user_id}/${which}`, { query: { limit: 50, cursor } });
      for (const u of page.items) {
        const meta = u.user_metadata || {};
        list.append(h("li", { class: "card user-row" }, h("div", {}, userLink(u.user_name), meta.display_name ? h("span", { class: "muted" }, ` ${meta.display_name}`) : null), meta.bio ? h("p", { class: "bio" }, meta.bio) : null));
      }
      cursor = page.next_cursor;
      more.hidden = !cursor;
      status.textContent = list.children.length ? "" : which === "followers" ? "No followers yet." : "Not following anyone yet.";
    } catch (err) {
      status.textContent = err.status === 404 && err.code === "not_found" ? "Follower lists are not available on this server yet." : err.message;
    }
  }
  more.addEventListener("click", load);
  const title = which === "followers" ? `People following @${user.user_name}` : `People @${user.user_name} follows`;
  replace(main, h("p", {}, h("a", { href: `/@${user.user_name}` }, `← @${user.user_name}`)), h("h1", {}, title), list, status, more);
  await load();
  return null;
}
