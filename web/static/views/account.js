// The account's own pages: forgotten password (/forgot), the reset link (/reset#token=…),
// and /settings/security (password, e-mail, two-factor sign-in, signed-in devices, export).

import { accessToken, api, currentUser, saveSession, updateUser } from "../api.js";
import { h, replace } from "../dom.js";
import { errorBox, field, safely, toast } from "../ui.js";

function form(title, parts, submitLabel, onSubmit) {
  const error = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, submitLabel);
  const el = h("form", { class: "card form", "aria-label": title }, ...parts, error, submit);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.show(null);
    submit.disabled = true;
    try {
      await onSubmit();
    } catch (err) {
      error.show(err);
    } finally {
      submit.disabled = false;
    }
  });
  return el;
}

export function forgotView({ main }) {
  const who = field({ label: "User name or e-mail", name: "login", autocomplete: "username" });
  const done = h("p", { role: "status", class: "muted" });
  const el = form("Reset your password", [who.wrap], "Send me a link", async () => {
    const value = who.input.value.trim();
    await api("POST", "/auth/password/forgot", { body: value.includes("@") ? { email: value } : { user_name: value }, anonymous: true });
    done.textContent = "If that account exists, a link to choose a new password is on its way. It works for 30 minutes.";
  });
  replace(main, h("h1", {}, "Forgot your password?"), el, done);
  who.input.focus();
  return null;
}

export function resetView({ main, navigate }) {
  // The token is in the fragment (never sent to a server or logged); clear it from the bar.
  const token = new URLSearchParams(location.hash.slice(1)).get("token") || sessionStorage.getItem("murmur.reset") || "";
  if (location.hash) {
    sessionStorage.setItem("murmur.reset", token);
    history.replaceState(history.state, "", location.pathname);
  }
  const password = field({ label: "New password", name: "new_password", type: "password", autocomplete: "new-password", minlength: 8, hint: "At least 8 characters; not a common one." });
  const el = form("Choose a new password", [password.wrap], "Set password", async () => {
    await api("POST", "/auth/password/reset", { body: { token, new_password: password.input.value }, anonymous: true });
    sessionStorage.removeItem("murmur.reset");
    toast("Your password is set. Sign in with it.");
    navigate("/login");
  });
  replace(main, h("h1", {}, "Choose a new password"), token ? el : h("p", { role: "alert" }, "This page needs the link from the e-mail."));
  password.input.focus();
  return null;
}

function section(id, title, ...body) {
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { class: "section-title", id }, title), ...body);
}

function passwordSection() {
  const current = field({ label: "Current password", name: "current_password", type: "password", autocomplete: "current-password" });
  const next = field({ label: "New password", name: "new_password", type: "password", autocomplete: "new-password", minlength: 8 });
  const el = form("Change password", [current.wrap, next.wrap], "Change password", async () => {
    await api("POST", "/users/me/password", { body: { current_password: current.input.value, new_password: next.input.value } });
    current.input.value = next.input.value = "";
    toast("Password changed; your other devices were signed out.");
  });
  return section("password-title", "Password", el);
}

function emailSection() {
  const mail = field({ label: "New e-mail", name: "new_email", type: "email", autocomplete: "email" });
  const pw = field({ label: "Current password", name: "email_password", type: "password", autocomplete: "current-password" });
  const code = field({ label: "Code sent to the new address", name: "email_code", inputmode: "numeric", pattern: "[0-9]{6}" });
  const verify = form("Confirm the new address", [code.wrap], "Confirm", async () => {
    const me = await api("POST", "/users/me/email/verify", { body: { code: code.input.value.trim() } });
    updateUser(me);
    verify.hidden = true;
    toast(`Your address is now ${me.email}.`);
  });
  verify.hidden = true;
  const ask = form("Change e-mail", [mail.wrap, pw.wrap], "Send a code", async () => {
    await api("POST", "/users/me/email", { body: { new_email: mail.input.value.trim(), current_password: pw.input.value } });
    verify.hidden = false;
    code.input.focus();
  });
  return section("email-title", "E-mail address", h("p", { class: "muted" }, `Now: ${currentUser().email}`), ask, verify);
}

function twoFactorSection() {
  const box = h("div");
  const render = () => (currentUser().two_factor_enabled ? showDisable() : showSetup());
  function showSetup() {
    const start = h("button", { type: "button", class: "primary" }, "Set up two-factor sign-in");
    start.addEventListener("click", () =>
      safely(async () => {
        const setup = await api("POST", "/users/me/2fa/setup");
        const code = field({ label: "Code from the app", name: "totp_code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}" });
        const enable = form("Enable two-factor sign-in", [code.wrap], "Enable", async () => {
          const { recovery_codes: codes } = await api("POST", "/users/me/2fa/enable", { body: { code: code.input.value.trim() } });
          updateUser({ ...currentUser(), two_factor_enabled: true });
          replace(box, h("p", { role: "status" }, "Two-factor sign-in is on. Keep these recovery codes somewhere safe; each works once:"), h("ul", { class: "recovery-codes" }, codes.map((c) => h("li", {}, h("code", {}, c)))));
        });
        replace(box, h("p", {}, "Scan this with your authenticator app, or type the secret:"), h("img", { class: "qr", src: setup.qr_svg, alt: "QR code of the two-factor secret", width: 180, height: 180 }), h("p", {}, h("code", { class: "totp-secret" }, setup.secret)), enable);
        code.input.focus();
      }),
    );
    replace(box, h("p", { class: "muted" }, "Off. With it on, signing in also asks for a code from an app on your phone."), start);
  }
  function showDisable() {
    const pw = field({ label: "Password", name: "disable_password", type: "password", autocomplete: "current-password" });
    const code = field({ label: "Code (or a recovery code)", name: "disable_code", autocomplete: "one-time-code" });
    const el = form("Turn off two-factor sign-in", [pw.wrap, code.wrap], "Turn off", async () => {
      await api("POST", "/users/me/2fa/disable", { body: { password: pw.input.value, code: code.input.value.trim() } });
      updateUser({ ...currentUser(), two_factor_enabled: false });
      render();
    });
    replace(box, h("p", { role: "status" }, "Two-factor sign-in is on."), el);
  }
  render();
  return section("twofactor-title", "Two-factor sign-in", box);
}

function devicesSection() {
  const list = h("ul", { class: "user-list sessions" });
  const others = h("button", { type: "button" }, "Sign out everywhere else");
  async function load() {
    const { items } = await api("GET", "/users/me/sessions");
    replace(
      list,
      items.map((s) => {
        const end = s.current ? h("span", { class: "muted" }, "this device") : h("button", { type: "button" }, "Sign out");
        if (!s.current) end.addEventListener("click", () => safely(async () => { await api("DELETE", `/users/me/sessions/${s.session_id}`); await load(); }));
        const when = new Date(s.last_used_at).toLocaleString();
        return h("li", { class: "card user-row" }, h("div", { class: "row spread" }, h("span", {}, `${s.user_agent || "Unknown client"} · ${s.address} · ${when}`), end));
      }),
    );
  }
  others.addEventListener("click", () => safely(async () => { await api("DELETE", "/users/me/sessions"); toast("Signed out everywhere else."); await load(); }));
  safely(load);
  return section("devices-title", "Signed-in devices", list, others);
}

function exportSection() {
  const button = h("button", { type: "button" }, "Download my data");
  button.addEventListener("click", () =>
    safely(async () => {
      // A fetch, not a link: the download needs the Authorization header.
      const response = await fetch("/users/me/export", { headers: { Authorization: `Bearer ${await accessToken()}` } });
      if (!response.ok) throw new Error((await response.json()).error.message);
      const url = URL.createObjectURL(await response.blob());
      const link = h("a", { href: url, download: `murmur-${currentUser().user_name}.zip` });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }),
  );
  return section("export-title", "Your data", h("p", { class: "muted" }, "A zip of your profile, tweets, replies, likes, follows, blocks and mutes."), button);
}

export function securityView({ main }) {
  if (!currentUser()) {
    replace(main, h("h1", {}, "Security"), h("p", {}, h("a", { href: "/login?next=/settings/security" }, "Sign in"), " first."));
    return null;
  }
  replace(main, h("h1", {}, "Security"), passwordSection(), emailSection(), twoFactorSection(), devicesSection(), exportSection());
  return null;
}

/** The second step of signing in (a code, or a recovery code) for a challenge. */
export function secondFactorForm(challenge, done) {
  const code = field({ label: "Code from your authenticator app", name: "totp", inputmode: "numeric", autocomplete: "one-time-code", required: false });
  const recovery = field({ label: "…or a recovery code", name: "recovery_code", required: false });
  return form("Two-factor sign-in", [code.wrap, recovery.wrap], "Verify", async () => {
    const body = { challenge };
    if (recovery.input.value.trim()) body.recovery_code = recovery.input.value.trim();
    else body.code = code.input.value.trim();
    saveSession(await api("POST", "/auth/login/2fa", { body, anonymous: true }));
    done();
  });
}
