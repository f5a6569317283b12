// The moderation page (/moderation, moderators and admins): the report queue, oldest first,
// with hide/restore tweet, dismiss report and suspend/unsuspend the author.

import { api, currentUser } from "../api.js";
import { h, nextId, replace, timeEl, trustedTweetHtml } from "../dom.js";
import { safely, toast, userLink } from "../ui.js";

const STATUSES = [
  ["open", "Open"],
  ["resolved", "Resolved"],
  ["dismissed", "Dismissed"],
];

function action(label, fn, extra = {}) {
  const btn = h("button", { type: "button", ...extra }, label);
  btn.addEventListener("click", () =>
    safely(async () => {
      btn.disabled = true;
      try {
        await fn();
      } finally {
        btn.disabled = false;
      }
    }),
  );
  return btn;
}

function reportItem(report) {
  const t = report.tweet;
  const item = h("li", { class: "card report", dataset: { reportId: report.report_id, tweetId: report.tweet_id } });
  const outcome = h("p", { class: "outcome", role: "status" });
  let hidden = report.action === "hidden";
  let suspended = false;
  let status = report.status;

  function paint() {
    const by = report.reporter_id === "system" ? "the spam screen" : "a user";
    const tweet = t
      ? h(
          "blockquote",
          { class: "reported-tweet" },
          h("p", { class: "tweet-head" }, userLink(t.user_name, { class: "user-link author" }), " · ", h("a", { href: `/tweets/${t.tweet_id}` }, timeEl(t.created_at))),
          h("div", { class: "tweet-body" }, trustedTweetHtml(t.html)),
        )
      : h("p", { class: "muted" }, "The tweet no longer exists.");
    const actions = [];
    if (t) {
      actions.push(
        hidden
          ? action("Restore tweet", async () => {
              await api("POST", `/moderation/tweets/${t.tweet_id}/restore`);
              hidden = false;
              outcome.textContent = "Tweet restored.";
              paint();
            })
          : action("Hide tweet", async () => {
              await api("POST", `/moderation/tweets/${t.tweet_id}/hide`);
              hidden = true;
              status = "resolved";
              outcome.textContent = "Tweet hidden everywhere.";
              paint();
            }, { class: "danger" }),
      );
    }
    if (status === "open") {
      actions.push(
        action("Dismiss report", async () => {
          await api("POST", `/moderation/reports/${report.report_id}/dismiss`);
          status = "dismissed";
          outcome.textContent = "Report dismissed.";
          paint();
        }),
      );
    }
    if (t) {
      actions.push(
        suspended
          ? action(`Unsuspend @${t.user_name}`, async () => {
              await api("POST", `/moderation/users/${t.user_id}/unsuspend`);
              suspended = false;
              outcome.textContent = `@${t.user_name} can sign in again.`;
              paint();
            })
          : action(`Suspend @${t.user_name}`, async () => {
              await api("POST", `/moderation/users/${t.user_id}/suspend`);
              suspended = true;
              outcome.textContent = `@${t.user_name} is suspended and signed out everywhere.`;
              toast(`@${t.user_name} suspended.`);
              paint();
            }, { class: "danger" }),
      );
    }
    replace(
      item,
      h("p", { class: "report-meta muted" }, `Reported by ${by} `, timeEl(report.created_at), report.status !== "open" ? ` · ${report.status}${report.action ? ` (${report.action})` : ""}` : ""),
      h("p", { class: "reason" }, h("strong", {}, "Reason: "), report.reason),
      tweet,
      h("div", { class: "row actions", role: "group", "aria-label": "Moderation actions" }, actions),
      outcome,
    );
  }
  paint();
  return item;
}

export function moderationView({ main, query, navigate }) {
  const me = currentUser();
  if (!me || (me.role !== "moderator" && me.role !== "admin")) {
    replace(main, h("h1", {}, "Moderation"), h("p", { role: "alert" }, "This page is for moderators. Sign in with a moderator or admin account."));
    return null;
  }
  const chosen = STATUSES.some(([s]) => s === query.get("status")) ? query.get("status") : "open";
  const id = nextId("status");
  const select = h("select", { id, name: "status" }, STATUSES.map(([value, label]) => h("option", { value, selected: value === chosen }, label)));
  select.addEventListener("change", () => navigate(`/moderation${select.value === "open" ? "" : `?status=${select.value}`}`));
  const list = h("ol", { class: "report-list" });
  const status = h("p", { class: "muted", role: "status" }, "Loading…");
  const more = h("button", { type: "button", class: "load-more", hidden: true }, "Load more");
  let cursor = null;
  async function load() {
    more.hidden = true;
    try {
      const page = await api("GET", "/moderation/reports", { query: { status: chosen, limit: 20, cursor } });
      list.append(...page.items.map(reportItem));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      status.textContent = list.children.length ? "" : chosen === "open" ? "No open reports. All clear." : `No ${chosen} reports.`;
    } catch (err) {
      status.textContent = err.message;
    }
  }
  more.addEventListener("click", load);
  replace(
    main,
    h("h1", {}, "Moderation"),
    h("div", { class: "field-inline" }, h("label", { for: id }, "Reports"), select),
    list,
    status,
    more,
  );
  load();
  return null;
}
