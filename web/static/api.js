// The REST client: JSON in and out, bearer tokens, silent refresh, readable errors.
//
// The session (access token, refresh token, user) lives in localStorage so that it survives
// a reload and is shared by tabs. Trade-off: script running on this origin could read it;
// the client never inserts untrusted HTML (see dom.js) and the server rotates refresh tokens
// (a stolen, already-used one revokes the whole session). An HttpOnly cookie would hide it
// from scripts but needs CSRF protection and a cookie flow the public API does not have.

const STORAGE_KEY = "murmur.session";
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message, details = [], retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

function load() {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY)) || null;
  } catch {
    return null;
  }
}

let session = load();

export function currentSession() {
  return session;
}

export function currentUser() {
  return session ? session.user : null;
}

export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function userId(s) {
  return s && s.user ? s.user.user_id : null;
}

// Listeners hear `(session, identityChanged)`: token rotation alone is not news to them.
function emit(identityChanged = true) {
  for (const fn of listeners) fn(session, identityChanged);
}

export function saveSession(pair) {
  const before = userId(session);
  session = {
    access: pair.access_token,
    refresh: pair.refresh_token,
    expiresAt: Date.now() + (pair.expires_in || 900) * 1000,
    user: pair.user,
  };
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  emit(before !== userId(session));
}

export function updateUser(user) {
  if (!session) return;
  session = { ...session, user };
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  emit(false);
}

export function clearSession() {
  session = null;
  localStorage.removeItem(STORAGE_KEY);
  emit();
}

// Another tab signed in, out, or rotated the tokens.
window.addEventListener("storage", (event) => {
  if (event.key !== STORAGE_KEY) return;
  const before = userId(session);
  session = load();
  if (before !== userId(session)) emit(true);
});

let refreshing = null;

async function withRefreshLock(fn) {
  // A refresh token works once; two tabs refreshing at the same moment would present the
  // same token twice and end the session. The Web Locks API serialises tabs.
  if (navigator.locks) return navigator.locks.request("murmur-refresh", fn);
  return fn();
}

/** Trade the refresh token for a new pair; resolves to the access token or null. */
export function refreshTokens() {
  if (refreshing) return refreshing;
  const used = session && session.refresh;
  refreshing = withRefreshLock(async () => {
    const stored = load();
    if (!stored) return null;
    if (stored.refresh !== used && stored.expiresAt > Date.now() + 5000) {
      session = stored; // another tab already rotated them
      return stored.access;
    }
    let response;
    try {
      response = await fetch("/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: stored.refresh }),
      });
    } catch {
      throw offlineError();
    }
    if (!response.ok) {
      if (response.status === 401) clearSession();
      return null;
    }
    saveSession(await response.json());
    return session.access;
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** A fresh-enough access token (refreshing it first when it is about to expire). */
export async function accessToken() {
  if (!session) return null;
  if (typeof session.expiresAt === "number" && session.expiresAt - Date.now() < 30_000) return refreshTokens();
  return session.access;
}

function offlineError() {
  const message = navigator.onLine === false
    ? "You are offline. Check your connection and try again."
    : "Murmur cannot be reached right now. Check your connection and try again.";
  return new ApiError(0, "offline", message);
}

function readable(status, body, retryAfter) {
  const error = body && body.error;
  const code = (error && error.code) || `http_${status}`;
  let message = (error && error.message) || `The server answered ${status}.`;
  const details = (error && error.details) || [];
  if (status === 429) {
    const wait = retryAfter ? ` Try again in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.` : "";
    message = `You are doing that too often.${wait}`;
  } else if (status === 422 && details.length) {
    const parts = details
      .filter((d) => d && d.message)
      .map((d) => (d.field ? `${d.field.replace(/^body\./, "")}: ${d.message}` : d.message));
    if (parts.length) message = `${message} ${parts.join("; ")}`;
  } else if (status >= 500 && !(error && error.message)) {
    message = "Something went wrong on the server. Please try again.";
  }
  return new ApiError(status, code, message, details, retryAfter);
}

/**
 * A new Idempotency-Key: random, 128 bits. (`crypto.randomUUID` exists only in secure
 * contexts; `getRandomValues` everywhere.)
 */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Call the API. `api("POST", "/tweets", {body: {content}})`. Resolves to the parsed JSON
 * (or null for 204); rejects with an ApiError whose message is fit to show to people.
 * `idempotencyKey` goes as the `Idempotency-Key` header: the same key on a retry makes the
 * server answer with what the first attempt stored instead of storing it twice.
 */
export async function api(method, path, { body, query, signal, anonymous = false, idempotencyKey } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += (url.includes("?") ? "&" : "?") + qs;
  }
  for (let attempt = 0; ; attempt += 1) {
    const headers = { Accept: "application/json" };
    const token = anonymous ? null : await accessToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    // FormData (an image upload) goes as multipart/form-data; the browser sets the boundary.
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined || form ? body : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw offlineError();
    }
    if (response.status === 401 && token && attempt === 0) {
      if (await refreshTokens()) continue;
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (response.ok) return data;
    const retry = Number.parseInt(response.headers.get("Retry-After") || "", 10);
    throw readable(response.status, data, Number.isFinite(retry) ? retry : null);
  }
}

export async function signOut() {
  try {
    if (session) await api("POST", "/auth/logout", { body: { refresh_token: session.refresh } });
  } catch {
    // The session ends locally whatever the server says.
  }
  clearSession();
}
