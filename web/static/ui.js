// Shared bits of interface: toasts, form errors, the compose box with its counter.

import { api, newIdempotencyKey } from "./api.js";
import { attachAutocomplete } from "./autocomplete.js";
import { append, charCount, h, nextId, replace } from "./dom.js";
import { preview } from "./markdown.js";
import { mediaPicker } from "./views/media.js";

export const MAX_TWEET = 280;

export function toast(message, kind = "info") {
  const region = document.getElementById("toasts");
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  region.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

/** An element that shows an API error (role=alert so screen readers announce it). */
export function errorBox() {
  const box = h("p", { class: "form-error", role: "alert", hidden: true });
  box.show = (err) => {
    if (!err) {
      box.hidden = true;
      box.textContent = "";
      return;
    }
    box.textContent = err.message || String(err);
    box.hidden = false;
  };
  return box;
}

export function field({ label, type = "text", name, autocomplete, required = true, hint, ...rest }) {
  const id = nextId(name);
  const input = h("input", { id, name, type, autocomplete, required, ...rest });
  const hintEl = hint ? h("small", { id: `${id}-hint`, class: "hint", "aria-live": "polite" }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), input, hintEl);
  return { wrap, input, hint: hintEl };
}

/**
 * The compose box: a labelled textarea, a live counter (280, or `max`), a Markdown preview
 * toggle, and @name / #tag suggestions as you type (autocomplete.js); `onInput` hears every
 * keystroke (a message composer sends typing indicators).
 * `submit(content, mediaIds)` posts it and resolves when done; errors are shown in the box.
 * With `media`, images can be attached (file picker, drop or paste; views/media.js).
 */
export function composer({ label = "What's happening?", button = "Post", initial = "", submit, onCancel, media = false, max = MAX_TWEET, onInput }) {
  const id = nextId("compose");
  const textarea = h("textarea", { id, name: "content", rows: 3, maxlength: 2000, required: true });
  textarea.value = initial;
  const counter = h("span", { class: "counter", "aria-live": "polite", id: `${id}-count` });
  textarea.setAttribute("aria-describedby", counter.id);
  // Before the keydown listener below: an open suggestion list takes Enter first.
  const suggestions = attachAutocomplete(textarea);
  const previewBox = h("div", { class: "preview tweet-body", hidden: true, "aria-label": "Preview" });
  const previewBtn = h("button", { type: "button", class: "link-button", "aria-pressed": "false" }, "Preview");
  const send = h("button", { type: "submit", class: "primary" }, button);
  const error = errorBox();
  const form = h("form", { class: "composer" });
  const picker = media ? mediaPicker(form, { onError: (err) => error.show(err) }) : null;
  append(form, [
    h("label", { for: id, class: "composer-label" }, label),
    textarea,
    suggestions,
    previewBox,
    picker ? picker.list : null,
    error,
    h(
      "div",
      { class: "composer-bar" },
      previewBtn,
      picker ? [picker.button, picker.input] : null,
      counter,
      onCancel ? h("button", { type: "button", onclick: onCancel }, "Cancel") : null,
      send,
    ),
  ]);

  function update() {
    const n = charCount(textarea.value);
    counter.textContent = `${n}/${max}`;
    counter.classList.toggle("over", n > max);
    send.disabled = n === 0 || n > max || textarea.value.trim() === "";
    if (!previewBox.hidden) replace(previewBox, preview(textarea.value));
  }
  textarea.addEventListener("input", update);
  if (onInput) textarea.addEventListener("input", onInput);
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  previewBtn.addEventListener("click", () => {
    previewBox.hidden = !previewBox.hidden;
    previewBtn.setAttribute("aria-pressed", String(!previewBox.hidden));
    previewBtn.textContent = previewBox.hidden ? "Preview" : "Hide preview";
    update();
  });
  // One Idempotency-Key per draft: sending it again after a failure (the answer may have
  // been lost on the way back) cannot post it twice. A changed draft is a new request.
  let draftKey = null;
  textarea.addEventListener("input", () => {
    draftKey = null;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (send.disabled) return;
    send.disabled = true;
    error.show(null);
    draftKey ||= newIdempotencyKey();
    try {
      await submit(textarea.value, picker ? await picker.ready() : [], draftKey);
      draftKey = null;
      if (!initial) textarea.value = "";
      picker?.clear();
    } catch (err) {
      error.show(err);
    } finally {
      update();
    }
  });
  update();
  form.focusInput = () => textarea.focus();
  return form;
}

/** Show `count` in the header badge `badgeId` ("99+" above 99, hidden at 0). */
export function paintCount(badgeId, count) {
  const badge = document.getElementById(badgeId);
  if (!badge) return;
  // The count is part of the link's text ("Messages 3 unread"), not an aria-label that
  // replaces it: a name must contain what is visible (WCAG 2.5.3, label in name).
  let suffix = badge.nextElementSibling;
  if (!suffix?.classList.contains("unread-suffix")) {
    suffix = h("span", { class: "visually-hidden unread-suffix" }, " unread");
    badge.after(suffix);
  }
  badge.textContent = count > 99 ? "99+" : String(count);
  badge.hidden = suffix.hidden = count === 0;
}

/** A user name linked to its profile. */
export function userLink(name, extra = {}) {
  return h("a", { href: `/@${name}`, class: "user-link", ...extra }, `@${name}`);
}

export async function safely(fn) {
  try {
    return await fn();
  } catch (err) {
    toast(err.message || String(err), "error");
    return undefined;
  }
}

export { api };
