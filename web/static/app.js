// Murmur's browser client: a router over the History API, the header, and the screens.
// No build step: modern ES modules served as they are (see docs/ARCHITECTURE.md).

import { api, currentUser, onSessionChange, saveSession, signOut, updateUser } from "./api.js";
import { h, icon, replace } from "./dom.js";
import { live } from "./live.js";
import { takeNonce } from "./oauth.js";
import { toast } from "./ui.js";
import { forgotView, resetView, securityView } from "./views/account.js";
import { loginView, signupView, verifyView } from "./views/auth.js";
import { bookmarksView } from "./views/bookmarks.js";
import { homeView, publicView, tagView } from "./views/feeds.js";
import { conversationView, messagesView, startInbox } from "./views/messages.js";
import { moderationView } from "./views/moderation.js";
import { notificationsView, startBell } from "./views/notifications.js";
import { operatorView } from "./views/operator.js";
import { followListView, profileView } from "./views/profile.js";
import { searchView } from "./views/search.js";
import { settingsView } from "./views/settings.js";
import { renderSidebar } from "./views/sidebar.js";
import { tweetView } from "./views/tweetpage.js";

const ROUTES = [
  [/^\/$/, homeView],
  [/^\/public\/?$/, publicView],
  [/^\/login\/?$/, loginView],
  [/^\/signup\/?$/, signupView],
  [/^\/verify\/?$/, verifyView],
  [/^\/notifications\/?$/, notificationsView],
  [/^\/messages\/?$/, messagesView],
  [/^\/messages\/([A-Za-z0-9_-]+)\/?$/, conversationView],
  [/^\/search\/?$/, searchView],
  [/^\/operator\/?$/, operatorView],
  [/^\/moderation\/?$/, moderationView],
  [/^\/settings\/?$/, settingsView],
  [/^\/settings\/security\/?$/, securityView],
  [/^\/forgot\/?$/, forgotView],
  [/^\/reset\/?$/, resetView],
  [/^\/tags\/([^/]+)\/?$/, tagView],
  [/^\/bookmarks\/?$/, bookmarksView],
  [/^\/tweets\/([A-Za-z0-9_-]+)\/?$/, tweetView],
  [/^\/@([A-Za-z0-9_]+)\/(followers|following)\/?$/, followListView],
  [/^\/@([A-Za-z0-9_]+)\/?$/, profileView],
];

const main = document.getElementById("main");
let cleanup = null;
let bellStop = null;
let inboxStop = null;

export function navigate(path, { replace: swap = false } = {}) {
  if (swap) history.replaceState({}, "", path);
  else history.pushState({}, "", path);
  route();
}

async function route() {
  if (cleanup) {
    try {
      cleanup();
    } catch (err) {
      console.error(err);
    }
    cleanup = null;
  }
  const path = location.pathname;
  let view = notFoundView;
  let params = [];
  for (const [pattern, fn] of ROUTES) {
    const match = path.match(pattern);
    if (match) {
      view = fn;
      params = match.slice(1).map(decodeURIComponent);
      break;
    }
  }
  replace(main);
  main.setAttribute("aria-busy", "true");
  renderNav();
  const query = new URLSearchParams(location.search);
  const searchBox = document.getElementById("search-q");
  if (path.startsWith("/search")) searchBox.value = query.get("q") || "";
  try {
    cleanup = (await view({ main, params, query, navigate })) || null;
  } catch (err) {
    replace(main, h("h1", {}, "Something went wrong"), h("p", { role: "alert" }, err.message || String(err)));
  } finally {
    main.setAttribute("aria-busy", "false");
  }
  const heading = main.querySelector("h1");
  if (heading && document.activeElement === document.body) document.title = `${heading.textContent} · Murmur`;
}

function notFoundView({ main: root }) {
  replace(root, h("h1", {}, "Not found"), h("p", {}, "There is nothing at this address. ", h("a", { href: "/" }, "Go home")));
}

function renderNav() {
  const nav = document.getElementById("nav");
  const me = currentUser();
  const here = location.pathname;
  const link = (href, label, extra = {}) =>
    h("a", { href, "aria-current": here === href ? "page" : undefined, ...extra }, label);
  if (!me) {
    replace(nav, link("/public", "Explore"), link("/login", "Sign in"), link("/signup", "Sign up", { class: "button primary" }));
    return;
  }
  const bell = link("/notifications", "", { class: "bell", id: "bell" });
  bell.append(icon("bell"), h("span", { class: "visually-hidden" }, "Notifications"), h("span", { class: "badge", id: "bell-count", hidden: true }));
  const messages = link("/messages", "Messages", { id: "dm-link", class: "dm-link" });
  messages.append(h("span", { class: "badge", id: "dm-count", hidden: true }));
  const out = h("button", { type: "button", class: "link-button", id: "sign-out" }, "Sign out");
  out.addEventListener("click", async () => {
    await signOut();
    toast("You are signed out.");
    navigate("/login");
  });
  replace(
    nav,
    link("/", "Home"),
    link("/public", "Explore"),
    bell,
    messages,
    link(`/@${me.user_name}`, `@${me.user_name}`, { class: "me" }),
    link("/bookmarks", "Bookmarks"),
    me.role === "admin" ? link("/operator", "Operator") : null,
    me.role === "admin" || me.role === "moderator" ? link("/moderation", "Moderation") : null,
    link("/settings", "Settings"),
    out,
  );
  if (bellStop) bellStop.refresh();
  if (inboxStop) inboxStop.refresh();
}

function onLinkClick(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest("a[href]");
  if (!a || a.target === "_blank" || a.hasAttribute("download") || a.hasAttribute("data-native")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/docs") || url.pathname.startsWith("/static/")) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
}

function setupSearch() {
  const form = document.querySelector("form.search");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = form.q.value.trim();
    if (q) navigate(`/search?q=${encodeURIComponent(q)}`);
  });
}

function setupConnectionBanner() {
  const banner = document.getElementById("connection");
  live.onStatus((status) => {
    banner.dataset.status = status;
    if (status === "reconnecting" || status === "offline") {
      banner.textContent = status === "offline" ? "Live updates are not connected — retrying…" : "Reconnecting…";
      banner.hidden = false;
    } else {
      banner.hidden = true;
      banner.textContent = "";
    }
  });
}

/**
 * Sign-in with GitHub ends at /#access_token=…&refresh_token=…&expires_in=…&nonce=… (a
 * fragment never reaches a server or a log). Clear the fragment so the tokens do not linger
 * in the address bar or history; take them only if the nonce is the one this tab sent when it
 * started the sign-in (oauth.js), so a link carrying someone else's tokens cannot replace
 * this browser's session; store them like a password sign-in's.
 */
async function takeFragmentTokens() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const failure = fragment.get("oauth_error");
  if (failure) {
    // The server sends a failed GitHub sign-in back to /login#oauth_error=…&message=….
    history.replaceState(history.state, "", location.pathname + location.search);
    takeNonce(null);
    if (failure === "second_factor_required" && fragment.get("challenge")) {
      // Two-factor sign-in is on: the sign-in page asks for the code (views/auth.js).
      sessionStorage.setItem("murmur.challenge", fragment.get("challenge"));
      return;
    }
    toast(fragment.get("message") || `Sign-in with GitHub failed (${failure}).`, "error");
    return;
  }
  const access = fragment.get("access_token");
  const refresh = fragment.get("refresh_token");
  if (!access || !refresh) return;
  history.replaceState(history.state, "", location.pathname + location.search);
  if (!takeNonce(fragment.get("nonce"))) {
    toast("Ignored a sign-in link that this tab did not start.", "error");
    return;
  }
  try {
    const response = await fetch("/users/me", { headers: { Accept: "application/json", Authorization: `Bearer ${access}` } });
    if (!response.ok) throw new Error(`The server answered ${response.status}.`);
    const user = await response.json();
    saveSession({ access_token: access, refresh_token: refresh, expires_in: Number(fragment.get("expires_in")) || 900, user });
    toast(`Signed in as @${user.user_name}.`);
  } catch (err) {
    toast(`Sign-in with GitHub did not finish: ${err.message}`, "error");
  }
}

function startSession() {
  if (bellStop) bellStop.stop();
  if (inboxStop) inboxStop.stop();
  bellStop = currentUser() ? startBell() : null;
  inboxStop = currentUser() ? startInbox() : null;
}

onSessionChange((session, identityChanged) => {
  if (identityChanged) {
    live.restart();
    startSession();
  }
  renderNav();
});

document.addEventListener("click", onLinkClick);
window.addEventListener("popstate", route);
window.addEventListener("offline", () => toast("You are offline.", "error"));
window.addEventListener("online", () => toast("Back online."));
setupSearch();
setupConnectionBanner();
await takeFragmentTokens();
startSession();
renderSidebar(document.getElementById("sidebar"));
route();

// Keep the stored user fresh (role, counts) without blocking the first paint.
if (currentUser()) {
  api("GET", "/users/me").then(updateUser).catch(() => {});
}
// For tests and curious people: which build of the client is running.
window.murmur = { live, navigate };
