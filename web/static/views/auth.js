// Sign in, sign up (with a live user-name check) and the e-mail code.

import { api, currentUser, saveSession } from "../api.js";
import { h, replace } from "../dom.js";
import { githubStartUrl } from "../oauth.js";
import { errorBox, field, toast } from "../ui.js";
import { secondFactorForm } from "./account.js";

const NAME_SHAPE = /^[A-Za-z0-9_]{3,30}$/;

let providers = null;

/**
 * "Sign in with GitHub", shown only when the server has GitHub configured. The link goes to
 * the server with this tab's nonce (oauth.js); it redirects to GitHub and back to
 * /#access_token=…&nonce=… (read by app.js).
 */
function oauthButtons() {
  const box = h("div", { class: "oauth", hidden: true });
  providers ??= api("GET", "/auth/oauth/providers", { anonymous: true }).catch(() => ({}));
  providers.then((found) => {
    if (!found.github) return;
    const link = h("a", { class: "button github", href: "/auth/oauth/github/start?mode=web", "data-native": "" }, "Sign in with GitHub");
    link.addEventListener("click", (event) => {
      event.preventDefault();
      location.assign(githubStartUrl());
    });
    replace(box, h("p", { class: "muted or" }, "or"), link);
    box.hidden = false;
  });
  return box;
}

export function loginView({ main, navigate, query }) {
  if (currentUser()) {
    navigate("/", { replace: true });
    return null;
  }
  const welcome = () => {
    toast(`Welcome back, @${currentUser().user_name}.`);
    navigate(query.get("next") || "/");
  };
  const askCode = (challenge) => {
    const step = secondFactorForm(challenge, welcome);
    replace(main, h("h1", { id: "login-title" }, "Two-factor sign-in"), step);
    step.querySelector("input").focus();
  };
  const pending = sessionStorage.getItem("murmur.challenge");
  if (pending) {
    sessionStorage.removeItem("murmur.challenge");
    askCode(pending);
    return null;
  }
  const name = field({ label: "User name or e-mail", name: "login", autocomplete: "username" });
  const password = field({ label: "Password", name: "password", type: "password", autocomplete: "current-password" });
  const error = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { class: "card form", "aria-labelledby": "login-title" }, name.wrap, password.wrap, error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.show(null);
    submit.disabled = true;
    const who = name.input.value.trim();
    const body = who.includes("@") ? { email: who, password: password.input.value } : { user_name: who, password: password.input.value };
    try {
      saveSession(await api("POST", "/auth/login", { body, anonymous: true }));
      welcome();
    } catch (err) {
      if (err.code === "second_factor_required") askCode(err.details[0].challenge);
      else if (err.code === "email_not_verified" || err.status === 403) {
        error.show({ message: `${err.message} ` });
        error.append(h("a", { href: `/verify?user=${encodeURIComponent(who)}` }, "Enter your code"));
      } else error.show(err);
    } finally {
      submit.disabled = false;
    }
  });
  replace(main, h("h1", { id: "login-title" }, "Sign in to Murmur"), form, oauthButtons(), h("p", {}, h("a", { href: "/forgot" }, "Forgot your password?")), h("p", {}, "New here? ", h("a", { href: "/signup" }, "Create an account")));
  name.input.focus();
  return null;
}

export function signupView({ main, navigate }) {
  if (currentUser()) {
    navigate("/", { replace: true });
    return null;
  }
  const name = field({
    label: "User name",
    name: "user_name",
    autocomplete: "username",
    hint: "3–30 letters, digits or underscores.",
    minlength: 3,
    maxlength: 30,
    pattern: "[A-Za-z0-9_]{3,30}",
  });
  const mail = field({ label: "E-mail", name: "email", type: "email", autocomplete: "email" });
  const password = field({ label: "Password", name: "password", type: "password", autocomplete: "new-password", minlength: 8, hint: "At least 8 characters." });
  const display = field({ label: "Display name (optional)", name: "display_name", required: false, maxlength: 50, autocomplete: "name" });
  const error = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Create account");
  const form = h("form", { class: "card form" }, name.wrap, mail.wrap, password.wrap, display.wrap, error, submit);

  let timer = null;
  let seq = 0;
  name.input.addEventListener("input", () => {
    clearTimeout(timer);
    const value = name.input.value.trim();
    name.hint.className = "hint";
    if (!value) {
      name.hint.textContent = "3–30 letters, digits or underscores.";
      return;
    }
    if (!NAME_SHAPE.test(value)) {
      name.hint.textContent = "3–30 letters, digits or underscores.";
      name.hint.classList.add("bad");
      return;
    }
    name.hint.textContent = "Checking…";
    timer = setTimeout(async () => {
      const mine = ++seq;
      try {
        const result = await api("GET", "/auth/username-availability", { query: { username: value }, anonymous: true });
        if (mine !== seq) return;
        name.hint.textContent = result.available ? `@${value} is available.` : result.reason || "That user name is taken.";
        name.hint.classList.toggle("good", result.available);
        name.hint.classList.toggle("bad", !result.available);
        name.hint.dataset.available = String(result.available);
      } catch (err) {
        if (mine === seq) name.hint.textContent = err.message;
      }
    }, 250);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.show(null);
    submit.disabled = true;
    const body = {
      user_name: name.input.value.trim(),
      email: mail.input.value.trim(),
      password: password.input.value,
    };
    if (display.input.value.trim()) body.user_metadata = { display_name: display.input.value.trim() };
    try {
      await api("POST", "/auth/user/signup", { body, anonymous: true });
      toast(`We sent a 6-digit code to ${body.email}.`);
      navigate(`/verify?user=${encodeURIComponent(body.user_name)}`);
    } catch (err) {
      error.show(err);
    } finally {
      submit.disabled = false;
    }
  });
  replace(main, h("h1", {}, "Create your account"), form, oauthButtons(), h("p", {}, "Already have one? ", h("a", { href: "/login" }, "Sign in")));
  name.input.focus();
  return null;
}

export function verifyView({ main, navigate, query }) {
  const who = query.get("user") || "";
  const name = field({ label: "User name", name: "user_name", autocomplete: "username", value: who });
  const code = field({
    label: "6-digit code from the e-mail",
    name: "otp",
    autocomplete: "one-time-code",
    inputmode: "numeric",
    pattern: "\\d{6}",
    maxlength: 6,
  });
  const error = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Confirm");
  const resend = h("button", { type: "button", class: "link-button" }, "Send a new code");
  const form = h("form", { class: "card form" }, name.wrap, code.wrap, error, h("div", { class: "row" }, submit, resend));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.show(null);
    submit.disabled = true;
    try {
      const pair = await api("POST", "/auth/verify-otp", {
        body: { user_name: name.input.value.trim(), otp: code.input.value.trim() },
        anonymous: true,
      });
      saveSession(pair);
      toast(`Welcome to Murmur, @${pair.user.user_name}!`);
      navigate("/");
    } catch (err) {
      error.show(err);
    } finally {
      submit.disabled = false;
    }
  });
  resend.addEventListener("click", async () => {
    error.show(null);
    try {
      await api("POST", "/auth/resend-otp", { body: { user_name: name.input.value.trim() }, anonymous: true });
      toast("A new code is on its way.");
    } catch (err) {
      error.show(err);
    }
  });
  replace(main, h("h1", {}, "Check your e-mail"), h("p", {}, "Enter the code we sent to finish signing up."), form);
  (who ? code.input : name.input).focus();
  return null;
}
