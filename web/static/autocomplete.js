// @name and #tag autocomplete for the compose box: an ARIA combobox on the textarea.
//
// Typing "@" or "#" and at least one letter asks /users/search or /tags/search for the
// start of the word before the caret, and shows the answers in a listbox below the
// textarea. The textarea keeps focus throughout: the active option is announced through
// aria-activedescendant, Up/Down move it, Enter or Tab put "@name " or "#tag " in place of
// the typed word, Escape closes the list (and so does leaving the textarea).

import { api } from "./api.js";
import { h, nextId, replace } from "./dom.js";

// The word being typed, ending at the caret: "@" or "#" (not in the middle of a word or an
// address) and 1–30 word characters.
const TOKEN = /(?:^|[^\w@#&])([@#])(\w{1,30})$/u;
const WAIT_MS = 120; // typing pauses shorter than this send no request
const SHOWN = 8;

async function lookUp(sigil, word, signal) {
  if (sigil === "@") {
    const page = await api("GET", "/users/search", { query: { q: word, limit: SHOWN }, signal });
    return page.items.map((u) => ({
      insert: `@${u.user_name}`,
      label: `@${u.user_name}`,
      detail: u.user_metadata.display_name || "",
    }));
  }
  const page = await api("GET", "/tags/search", { query: { q: word, limit: SHOWN }, signal });
  return page.items.map((t) => ({
    insert: `#${t.tag}`,
    label: `#${t.tag}`,
    detail: `${t.count} ${t.count === 1 ? "tweet" : "tweets"}`,
  }));
}

/** Make `textarea` a combobox; returns the listbox element to place after it. */
export function attachAutocomplete(textarea) {
  const listId = nextId("suggest");
  const list = h("ul", { id: listId, role: "listbox", class: "autocomplete", hidden: true, "aria-label": "Suggestions" });
  textarea.setAttribute("role", "combobox");
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", listId);
  textarea.setAttribute("aria-expanded", "false");

  let options = []; // [{insert, label, detail}] shown
  let active = -1;
  let token = null; // {start, end} of the word being completed
  let timer = null;
  let inflight = null;

  function close() {
    clearTimeout(timer);
    if (inflight) inflight.abort();
    inflight = null;
    options = [];
    active = -1;
    token = null;
    list.hidden = true;
    replace(list);
    textarea.setAttribute("aria-expanded", "false");
    textarea.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = index;
    list.querySelectorAll("[role=option]").forEach((el, i) => {
      el.setAttribute("aria-selected", String(i === active));
    });
    const current = list.children[active];
    if (current) {
      textarea.setAttribute("aria-activedescendant", current.id);
      current.scrollIntoView({ block: "nearest" });
    }
  }

  function show(found) {
    options = found;
    if (!found.length) return close();
    replace(
      list,
      found.map((opt, i) =>
        h(
          "li",
          {
            id: `${listId}-${i}`,
            role: "option",
            "aria-selected": "false",
            // mousedown, not click: choosing must not take focus away from the textarea.
            onmousedown: (event) => {
              event.preventDefault();
              choose(i);
            },
          },
          h("span", { class: "autocomplete-label" }, opt.label),
          opt.detail ? h("span", { class: "autocomplete-detail" }, ` ${opt.detail}`) : null,
        ),
      ),
    );
    list.hidden = false;
    textarea.setAttribute("aria-expanded", "true");
    highlight(0);
  }

  function choose(index) {
    const opt = options[index];
    if (!opt || !token) return;
    const text = textarea.value;
    textarea.value = `${text.slice(0, token.start)}${opt.insert} ${text.slice(token.end)}`;
    const caret = token.start + opt.insert.length + 1;
    textarea.setSelectionRange(caret, caret);
    close();
    textarea.dispatchEvent(new Event("input", { bubbles: true })); // the counter, the preview
  }

  function lookAtCaret() {
    const end = textarea.selectionStart;
    if (end !== textarea.selectionEnd) return close();
    const match = TOKEN.exec(textarea.value.slice(0, end));
    if (!match) return close();
    const [, sigil, word] = match;
    const wanted = { start: end - word.length - 1, end };
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (inflight) inflight.abort();
      const controller = new AbortController();
      inflight = controller;
      try {
        const found = await lookUp(sigil, word, controller.signal);
        if (inflight !== controller) return; // a newer word is being looked up
        inflight = null;
        token = wanted;
        show(found);
      } catch {
        if (inflight === controller) close(); // aborted, offline or rate-limited: no list
      }
    }, WAIT_MS);
  }

  textarea.addEventListener("input", lookAtCaret);
  textarea.addEventListener("click", lookAtCaret);
  textarea.addEventListener("blur", close);
  textarea.addEventListener("keydown", (event) => {
    if (list.hidden || !options.length) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) {
      highlight((active + moves[event.key] + options.length) % options.length);
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey) {
      choose(active);
    } else if (event.key === "Escape") {
      close();
    } else {
      return;
    }
    event.preventDefault();
    // Handled here: neither the composer's Ctrl+Enter nor a dialog's Escape sees it.
    event.stopImmediatePropagation();
  });
  return list;
}
