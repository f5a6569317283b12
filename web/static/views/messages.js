// Direct messages: the conversation list (/messages), a live thread (/messages/<id>) with a
// composer, a typing indicator and a read indicator, and the unread badge in the header.
// Everything arrives on the "messages" stream (docs/realtime.md): message.created,
// conversation.read (read receipts) and conversation.typing (live only).

import { api, currentUser } from "../api.js";
import { h, replace, timeEl, trustedTweetHtml } from "../dom.js";
import { live } from "../live.js";
import { composer, paintCount, safely, userLink } from "../ui.js";

const MAX_MESSAGE = 1000;
const TYPING_EVERY_MS = 2000; // the server drops more than one per 2 s anyway
const TYPING_SHOWN_MS = 4000;

// --- the badge in the header: conversations with unread messages ---

let unreadConversations = 0;
let badgeTimer = null;

function paintBadge() {
  paintCount("dm-count", unreadConversations);
}

async function fetchBadge() {
  try {
    const page = await api("GET", "/conversations", { query: { limit: 100 } });
    unreadConversations = page.items.filter((c) => c.unread_count > 0).length;
  } catch {
    unreadConversations = 0;
  }
  paintBadge();
}

function refreshBadgeSoon() {
  clearTimeout(badgeTimer);
  badgeTimer = setTimeout(fetchBadge, 300); // a burst of messages costs one fetch
}

/** Keep the Messages badge live while signed in; returns {stop, refresh}. */
export function startInbox() {
  fetchBadge();
  const stop = live.subscribe("messages", (frame) => {
    if (frame.type === "resync" || frame.event === "message.created" || frame.event === "conversation.read") refreshBadgeSoon();
  });
  return { stop: () => { stop(); clearTimeout(badgeTimer); }, refresh: paintBadge };
}

// --- shared bits ---

function othersOf(conversation) {
  const me = currentUser();
  const others = conversation.participants.filter((p) => !me || p.user_id !== me.user_id);
  return others.length ? others : conversation.participants;
}

function title(conversation) {
  return othersOf(conversation).map((p) => `@${p.user_name}`).join(", ");
}

async function userIds(names) {
  const ids = [];
  for (const raw of names.split(/[\s,]+/)) {
    const name = raw.replace(/^@/, "");
    if (!name) continue;
    const user = await api("GET", `/users/by-name/${encodeURIComponent(name)}`);
    ids.push(user.user_id);
  }
  return ids;
}

// --- /messages ---

function row(c) {
  const last = c.last_message;
  return h(
    "li",
    { class: `card conversation${c.unread_count ? " unread" : ""}`, dataset: { conversationId: c.conversation_id } },
    h("a", { href: `/messages/${c.conversation_id}`, class: "conversation-link" }, title(c)),
    c.unread_count ? h("span", { class: "badge unread-count" }, c.unread_count > 98 ? "99+" : String(c.unread_count)) : null,
    last ? h("p", { class: "muted last-message" }, `@${last.sender_name}: `, last.content.slice(0, 120), " · ", timeEl(last.created_at)) : h("p", { class: "muted" }, "No messages yet."),
  );
}

export async function messagesView({ main, navigate }) {
  if (!currentUser()) return navigate("/login?next=/messages", { replace: true });
  const list = h("ul", { class: "conversation-list", "aria-label": "Conversations" });
  const status = h("p", { class: "muted", role: "status" }, "Loading…");
  const more = h("button", { type: "button", class: "load-more", hidden: true }, "Load more");
  const who = h("input", { id: "dm-to", name: "to", placeholder: "@alice, @bob", autocomplete: "off", required: true });
  const start = h(
    "form",
    { class: "new-conversation" },
    h("label", { for: "dm-to" }, "New conversation with"),
    who,
    h("button", { type: "submit", class: "primary" }, "Start"),
  );
  let cursor = null;

  async function load(reset = false) {
    if (reset) {
      replace(list);
      cursor = null;
    }
    const page = await api("GET", "/conversations", { query: { limit: 30, cursor } });
    for (const c of page.items) list.append(row(c));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    status.textContent = list.children.length ? "" : "No conversations yet.";
  }

  start.addEventListener("submit", async (event) => {
    event.preventDefault();
    const made = await safely(async () => api("POST", "/conversations", { body: { participant_ids: await userIds(who.value) } }));
    if (made) navigate(`/messages/${made.conversation_id}`);
  });
  more.addEventListener("click", () => safely(() => load()));
  const stop = live.subscribe("messages", (frame) => {
    if (frame.type === "resync" || frame.event === "message.created" || frame.event === "conversation.read") safely(() => load(true));
  });
  replace(main, h("h1", {}, "Messages"), start, list, status, more);
  await load();
  return stop;
}

// --- /messages/<id> ---

function bubble(m) {
  const mine = currentUser() && m.sender_id === currentUser().user_id;
  return h(
    "li",
    { class: `message${mine ? " mine" : ""}`, dataset: { messageId: m.message_id } },
    h("p", { class: "message-meta muted" }, userLink(m.sender_name), " · ", timeEl(m.created_at)),
    h("div", { class: "message-body tweet-body" }, trustedTweetHtml(m.html)),
  );
}

export async function conversationView({ main, params, navigate }) {
  const me = currentUser();
  if (!me) return navigate(`/login?next=/messages/${params[0]}`, { replace: true });
  const id = params[0];
  const conversation = await api("GET", `/conversations/${id}`);
  const read = { ...conversation.read }; // participant -> newest message id they read
  const thread = h("ol", { class: "dm-thread", "aria-label": "Messages", "aria-live": "polite" });
  const older = h("button", { type: "button", class: "load-more", hidden: true }, "Load older");
  const typing = h("p", { class: "typing muted", id: "typing", role: "status", hidden: true });
  const seen = h("p", { class: "read-indicator muted", id: "read-indicator", hidden: true });
  const shown = new Set();
  let cursor = null;
  let typingTimer = null;
  let lastTyped = 0;

  function newest() {
    const last = thread.lastElementChild;
    return last ? last.dataset.messageId : null;
  }

  function paintSeen() {
    // "Seen" under my newest message once someone else has read up to it (ids order by time).
    const mine = [...thread.querySelectorAll(".message.mine")].pop();
    const upTo = mine && mine.dataset.messageId;
    const readers = upTo ? othersOf(conversation).filter((p) => read[p.user_id] && read[p.user_id] >= upTo) : [];
    seen.hidden = readers.length === 0 || mine !== thread.lastElementChild;
    seen.textContent = readers.length ? `Seen by ${readers.map((p) => `@${p.user_name}`).join(", ")}` : "";
  }

  function add(m, { atTop = false } = {}) {
    if (shown.has(m.message_id)) return;
    shown.add(m.message_id);
    if (atTop) thread.prepend(bubble(m));
    else thread.append(bubble(m));
  }

  async function markRead() {
    const upTo = newest();
    if (upTo && (!read[me.user_id] || read[me.user_id] < upTo)) {
      read[me.user_id] = upTo;
      await safely(() => api("POST", `/conversations/${id}/read`, { body: { up_to_id: upTo } }));
      refreshBadgeSoon();
    }
  }

  async function loadOlder() {
    const page = await api("GET", `/conversations/${id}/messages`, { query: { limit: 30, cursor } });
    for (const m of page.items) add(m, { atTop: true }); // newest first: each goes above
    cursor = page.next_cursor;
    older.hidden = !cursor;
  }

  async function refetch() {
    const page = await api("GET", `/conversations/${id}/messages`, { query: { limit: 30 } });
    for (const m of [...page.items].reverse()) add(m);
    paintSeen();
    await markRead();
  }

  const stop = live.subscribe("messages", (frame) => {
    if (frame.type === "resync") return void safely(refetch);
    const data = frame.data;
    if (!data || data.conversation_id !== id) return;
    if (frame.event === "message.created") {
      add(data);
      if (data.sender_id !== me.user_id) typing.hidden = true;
      paintSeen();
      if (document.visibilityState === "visible") safely(markRead);
    } else if (frame.event === "conversation.read") {
      if (!read[data.reader_id] || read[data.reader_id] < data.up_to_id) read[data.reader_id] = data.up_to_id;
      paintSeen();
    } else if (frame.event === "conversation.typing" && data.sender_id !== me.user_id) {
      typing.textContent = `@${data.sender_name} is typing…`;
      typing.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { typing.hidden = true; }, TYPING_SHOWN_MS);
    }
  });

  const box = composer({
    label: "Write a message",
    button: "Send",
    max: MAX_MESSAGE,
    onInput: () => {
      const now = Date.now();
      if (now - lastTyped < TYPING_EVERY_MS) return;
      lastTyped = now;
      live.send({ type: "typing", conversation_id: id });
    },
    submit: async (content, _media, idempotencyKey) => {
      add(await api("POST", `/conversations/${id}/messages`, { body: { content }, idempotencyKey }));
      paintSeen();
    },
  });
  const leave = h("button", { type: "button", class: "link-button" }, "Leave conversation");
  leave.addEventListener("click", async () => {
    if (await safely(() => api("DELETE", `/conversations/${id}/participants/me`)) !== undefined) navigate("/messages");
  });
  older.addEventListener("click", () => safely(loadOlder));
  replace(
    main,
    h("p", {}, h("a", { href: "/messages" }, "← Messages")),
    h("h1", {}, title(conversation)),
    older,
    thread,
    seen,
    typing,
    box,
    leave,
  );
  await loadOlder();
  paintSeen();
  await markRead();
  box.focusInput();
  return () => {
    stop();
    clearTimeout(typingTimer);
  };
}
