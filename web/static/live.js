// The WebSocket client for /ws (protocol: docs/realtime.md).
//
// Views subscribe to streams ("home", "notifications", "messages", "public", "user:<id>",
// "tweet:<id>", "hashtag:<tag>") with a handler. One socket carries them all. After a drop the client
// reconnects with exponential backoff (and shows "reconnecting…"), then re-subscribes each
// stream with `since` = the last event id it saw, so the server replays what was missed.
// A `resync` frame (or a reconnect to a stream that was never resumable) tells the view to
// refetch over REST instead.

import { accessToken, api, clearSession, currentSession, refreshTokens } from "./api.js";

const PING_MS = 25_000;
const MAX_BACKOFF_MS = 10_000;
const RESUMABLE = new Set(["home", "notifications", "messages"]);
// Close codes (realtime/protocol.py).
const CLOSE_POLICY = 1008;
const CLOSE_TRY_LATER = 1013;
const CLOSE_SESSION_REVOKED = 4001;
const CLOSE_UNAUTHORIZED = 4003;

export class Live {
  constructor() {
    this.streams = new Map(); // stream -> {handlers:Set, lastId, subscribed}
    this.socket = null;
    this.status = "idle";
    this.statusListeners = new Set();
    this.attempt = 0;
    this.timer = null;
    this.pingTimer = null;
    this.wanted = false;
    this.everOpened = false;
  }

  onStatus(fn) {
    this.statusListeners.add(fn);
    fn(this.status);
    return () => this.statusListeners.delete(fn);
  }

  setStatus(status) {
    this.status = status;
    for (const fn of this.statusListeners) fn(status);
  }

  /** Listen to a stream; returns a function that stops listening. */
  subscribe(stream, handler) {
    let entry = this.streams.get(stream);
    if (!entry) {
      entry = { handlers: new Set(), lastId: null, subscribed: false };
      this.streams.set(stream, entry);
      this.send({ type: "subscribe", stream });
    }
    entry.handlers.add(handler);
    this.start();
    return () => {
      entry.handlers.delete(handler);
      if (entry.handlers.size === 0 && this.streams.get(stream) === entry) {
        this.streams.delete(stream);
        this.send({ type: "unsubscribe", stream });
      }
    };
  }

  start() {
    this.wanted = true;
    if (!this.socket && !this.timer) this.connect();
  }

  /** Close for good (sign-out): a new socket is opened with the next subscribe. */
  stop() {
    this.wanted = false;
    clearTimeout(this.timer);
    this.timer = null;
    this.streams.clear();
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000, "bye");
    }
    this.everOpened = false;
    this.setStatus("idle");
  }

  /** Reopen with the current token (after sign-in or sign-out). */
  restart() {
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000, "re-authenticating");
    }
    clearTimeout(this.timer);
    this.timer = null;
    if (this.wanted && this.streams.size) this.connect();
  }

  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
    }
  }

  async connect() {
    this.timer = null;
    this.setStatus(this.everOpened ? "reconnecting" : "connecting");
    // Signed in: trade the access token (sent as a header) for a single-use ticket, so the
    // token never appears in a URL that proxies or history could keep.
    let query = "";
    try {
      if (await accessToken()) {
        const { ticket } = await api("POST", "/ws/ticket");
        query = `?ticket=${encodeURIComponent(ticket)}`;
      }
    } catch {
      this.scheduleReconnect(); // offline, or the server is away: back off and try again
      return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${location.host}/ws${query}`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (this.socket !== socket) return;
      const resumed = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.setStatus("live");
      for (const [stream, entry] of this.streams) {
        const frame = { type: "subscribe", stream };
        // Only the per-user streams promise a replay; any other stream refetches over REST.
        if (entry.lastId && RESUMABLE.has(stream)) frame.since = entry.lastId;
        else if (resumed) this.dispatch(stream, { type: "resync", stream });
        this.send(frame);
      }
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_MS);
    });
    socket.addEventListener("message", (message) => {
      if (this.socket !== socket) return;
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      this.handle(frame);
    });
    socket.addEventListener("close", async (event) => {
      clearInterval(this.pingTimer);
      if (this.socket !== socket) return;
      this.socket = null;
      if (event.code === CLOSE_SESSION_REVOKED && currentSession()) {
        clearSession(); // signed out elsewhere or suspended: the app shows signed-out screens
      } else if (event.code === CLOSE_UNAUTHORIZED && currentSession()) {
        const token = await refreshTokens().catch(() => null);
        if (!token) clearSession();
      }
      // 1013 (a connect storm) says when to come back: "overloaded; retry_after=N" (seconds,
      // already jittered by the server).
      const told = event.code === CLOSE_TRY_LATER && /retry_after=(\d+)/.exec(event.reason || "");
      if (this.wanted) {
        this.scheduleReconnect(
          event.code === CLOSE_TRY_LATER || event.code === CLOSE_POLICY,
          told ? Number(told[1]) * 1000 : null,
        );
      }
    });
  }

  scheduleReconnect(slow = false, afterMs = null) {
    this.setStatus(this.everOpened ? "reconnecting" : "offline");
    const base = slow ? MAX_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
    this.attempt += 1;
    const delay = afterMs ?? base / 2 + Math.random() * (base / 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  async handle(frame) {
    if (frame.type === "event") {
      const entry = this.streams.get(frame.stream);
      // Typing indicators carry an id starting with "t": live only, never a place to resume.
      if (entry && frame.id && !frame.id.startsWith("t")) entry.lastId = frame.id;
      this.dispatch(frame.stream, frame);
    } else if (frame.type === "resync") {
      const entry = this.streams.get(frame.stream);
      if (entry) entry.lastId = null;
      this.dispatch(frame.stream, frame);
    } else if (frame.type === "subscribed") {
      const entry = this.streams.get(frame.stream);
      if (entry) entry.subscribed = true;
    } else if (frame.type === "error" && frame.code === "token_expired") {
      const token = await refreshTokens().catch(() => null);
      if (token) this.send({ type: "auth", token });
    } else if (frame.type === "error") {
      console.warn("murmur live:", frame.code, frame.message);
    }
  }

  dispatch(stream, frame) {
    const entry = this.streams.get(stream);
    if (!entry) return;
    for (const fn of [...entry.handlers]) {
      try {
        fn(frame);
      } catch (err) {
        console.error(err);
      }
    }
  }
}

export const live = new Live();
