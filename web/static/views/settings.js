// Settings (/settings): who may message you, and the accounts you blocked or muted, each
// with a button to undo it.

import { api, currentUser, updateUser } from "../api.js";
import { h, replace } from "../dom.js";
import { safely, toast, userLink } from "../ui.js";

const LISTS = [
  { kind: "block", path: "/users/me/blocks", title: "Blocked accounts", undo: "Unblock", none: "You have not blocked anyone.", done: "unblocked" },
  { kind: "mute", path: "/users/me/mutes", title: "Muted accounts", undo: "Unmute", none: "You have not muted anyone.", done: "unmuted" },
];

function relationList({ kind, path, title, undo, none, done }) {
  const headingId = `${kind}-list-title`;
  const list = h("ul", { class: "user-list" });
  const status = h("p", { class: "muted", role: "status" }, "Loading…");
  const more = h("button", { type: "button", class: "load-more", hidden: true }, "Load more");
  let cursor = null;

  function row(user) {
    const button = h("button", { type: "button", "aria-label": `${undo} @${user.user_name}` }, undo);
    const item = h("li", { class: "card user-row" }, h("div", { class: "row spread" }, userLink(user.user_name), button));
    button.addEventListener("click", () =>
      safely(async () => {
        button.disabled = true;
        try {
          await api("DELETE", `/users/${user.user_id}/${kind}`);
        } finally {
          button.disabled = false;
        }
        item.remove();
        toast(`You ${done} @${user.user_name}.`);
        if (!list.children.length) status.textContent = none;
      }),
    );
    return item;
  }

  async function load() {
    more.hidden = true;
    try {
      const page = await api("GET", path, { query: { limit: 50, cursor } });
      list.append(...page.items.map(row));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      status.textContent = list.children.length ? "" : none;
    } catch (err) {
      status.textContent = err.message;
    }
  }
  more.addEventListener("click", load);
  load();
  return h("section", { class: "card relation-list", "aria-labelledby": headingId }, h("h2", { class: "section-title", id: headingId }, title), list, status, more);
}

/** Who may start a conversation with you or message you (PATCH /users/me dm_policy). */
function dmPolicySection() {
  const select = h(
    "select",
    { id: "dm-policy", disabled: true },
    h("option", { value: "everyone" }, "Everyone"),
    h("option", { value: "following" }, "Only people I follow"),
  );
  api("GET", "/users/me").then((me) => {
    select.value = me.dm_policy || "everyone";
    select.disabled = false;
  }, () => {});
  select.addEventListener("change", () =>
    safely(async () => {
      select.disabled = true;
      try {
        updateUser(await api("PATCH", "/users/me", { body: { dm_policy: select.value } }));
        toast("Saved who may message you.");
      } finally {
        select.disabled = false;
      }
    }),
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "dm-policy-title" },
    h("h2", { class: "section-title", id: "dm-policy-title" }, "Direct messages"),
    h("p", { class: "field-inline" }, h("label", { for: "dm-policy" }, "Who may message you"), select),
  );
}

export function settingsView({ main }) {
  if (!currentUser()) {
    replace(main, h("h1", {}, "Settings"), h("p", {}, h("a", { href: "/login?next=/settings" }, "Sign in"), " to see your settings."));
    return null;
  }
  replace(
    main,
    h("h1", {}, "Settings"),
    h("p", {}, h("a", { href: "/settings/security" }, "Password, e-mail, two-factor sign-in, devices and your data")),
    h("p", { class: "muted" }, "People you block cannot follow you or reply to you, and you stop seeing each other's tweets. Muted people's tweets leave your timelines; they are not told."),
    dmPolicySection(),
    LISTS.map(relationList),
  );
  return null;
}
