// Images: a tweet's grid of previews, the lightbox, and the composer's picker.
//
// Images are shown from Murmur's own /media URLs (the CSP allows img-src 'self' data:), with
// the uploader's alt text as each <img>'s alt. The picker uploads each file at once (POST
// /media), shows the server's preview with a remove button and an alt-text field, and hands
// the ids to the post; alt texts typed meanwhile are saved (PATCH /media/{id}) first.

import { api } from "../api.js";
import { h, replace } from "../dom.js";

export const MAX_IMAGES = 4;
const ACCEPT = "image/jpeg,image/png,image/webp,image/gif";
const MAX_ALT = 1000;

/** A tweet's images (null when it has none); a click opens the lightbox. */
export function mediaGrid(tweet) {
  const items = tweet.media || [];
  if (!items.length) return null;
  const grid = h("div", { class: `tweet-media count-${items.length}` });
  items.forEach((item, index) => {
    const thumb = h(
      "button",
      { type: "button", class: "media-thumb", "aria-label": item.alt ? `View image: ${item.alt}` : "View image" },
      h("img", { src: item.preview_url, alt: item.alt || "", width: item.width, height: item.height, loading: "lazy", decoding: "async" }),
    );
    thumb.addEventListener("click", () => lightbox(items, index, thumb));
    grid.append(thumb);
  });
  return grid;
}

/** The full-size image in a modal dialog; Escape (or Close) closes it and focus returns. */
export function lightbox(items, index, opener) {
  let at = index;
  const img = h("img", { class: "lightbox-image" });
  const caption = h("p", { class: "lightbox-alt" });
  const close = h("button", { type: "button", class: "lightbox-close" }, "Close");
  const prev = h("button", { type: "button", "aria-label": "Previous image" }, "‹");
  const next = h("button", { type: "button", "aria-label": "Next image" }, "›");
  const nav = items.length > 1 ? h("div", { class: "lightbox-nav" }, prev, next) : null;
  const dialog = h("dialog", { class: "lightbox", "aria-label": "Image" }, img, caption, h("div", { class: "row" }, nav, close));
  const show = () => {
    const item = items[at];
    img.src = item.url;
    img.alt = item.alt || "";
    replace(caption, item.alt || "No description.");
  };
  prev.addEventListener("click", () => { at = (at + items.length - 1) % items.length; show(); });
  next.addEventListener("click", () => { at = (at + 1) % items.length; show(); });
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
  // A modal <dialog> closes itself on Escape ("cancel", then "close").
  dialog.addEventListener("close", () => {
    dialog.remove();
    opener?.focus();
  });
  show();
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
  return dialog;
}

/**
 * The composer's image picker: a file button, plus drop and paste on `target`.
 * `ready()` resolves to the uploaded ids once every upload is done and alt texts are saved;
 * `clear()` empties it after a post.
 */
export function mediaPicker(target, { onError, onChange } = {}) {
  const entries = [];
  const input = h("input", { type: "file", accept: ACCEPT, multiple: true, hidden: true, class: "media-input" });
  const add = h("button", { type: "button", class: "link-button add-images" }, "Add images");
  const list = h("ul", { class: "media-picker", "aria-label": "Attached images" });
  add.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = "";
  });
  target.addEventListener("dragover", (event) => {
    if ([...(event.dataTransfer?.types || [])].includes("Files")) event.preventDefault();
  });
  target.addEventListener("drop", (event) => {
    const files = [...(event.dataTransfer?.files || [])];
    if (!files.length) return;
    event.preventDefault();
    addFiles(files);
  });
  target.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files || [])].filter((f) => f.type.startsWith("image/"));
    if (!files.length) return;
    event.preventDefault();
    addFiles(files);
  });

  function changed() {
    add.disabled = entries.length >= MAX_IMAGES;
    list.hidden = entries.length === 0;
    onChange?.();
  }

  function addFiles(files) {
    const room = MAX_IMAGES - entries.length;
    if (files.length > room) onError?.(new Error(`A tweet can carry at most ${MAX_IMAGES} images.`));
    for (const file of files.slice(0, Math.max(0, room))) entries.push(entry(file));
    changed();
  }

  function entry(file) {
    const e = { media: null, savedAlt: "" };
    const alt = h("input", { type: "text", maxlength: MAX_ALT, placeholder: "Describe the image", "aria-label": `Alt text for ${file.name || "image"}`, class: "alt-input" });
    const remove = h("button", { type: "button", class: "action danger", "aria-label": `Remove ${file.name || "image"}` }, "Remove");
    const thumb = h("span", { class: "media-pending muted" }, "Uploading…");
    e.el = h("li", { class: "media-item" }, thumb, alt, remove);
    list.append(e.el);
    remove.addEventListener("click", () => {
      entries.splice(entries.indexOf(e), 1);
      e.el.remove();
      changed();
      add.focus();
    });
    e.alt = alt;
    const form = new FormData();
    form.append("file", file, file.name || "pasted.png");
    e.upload = api("POST", "/media", { body: form }).then(
      (media) => {
        e.media = media;
        e.savedAlt = media.alt || "";
        replace(thumb, h("img", { src: media.preview_url, alt: "", width: media.preview_width, height: media.preview_height }));
        thumb.className = "media-preview";
      },
      (err) => {
        entries.splice(entries.indexOf(e), 1);
        e.el.remove();
        changed();
        onError?.(err);
      },
    );
    return e;
  }

  async function ready() {
    await Promise.all(entries.map((e) => e.upload));
    for (const e of entries) {
      const text = e.alt.value.trim();
      if (e.media && text !== e.savedAlt) {
        await api("PATCH", `/media/${e.media.media_id}`, { body: { alt: text } });
        e.savedAlt = text;
      }
    }
    return entries.filter((e) => e.media).map((e) => e.media.media_id);
  }

  function clear() {
    entries.splice(0).forEach((e) => e.el.remove());
    changed();
  }

  changed();
  return { button: add, input, list, ready, clear, count: () => entries.length };
}
