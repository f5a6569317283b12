// Sign in with GitHub, bound to the tab that starts it (login CSRF): a random nonce kept in
// sessionStorage travels through the server's sign-in state and comes back with the tokens
// in the fragment. Tokens that arrive without this tab's nonce — a link someone sent, made
// from their own sign-in — are ignored, so nobody can sign this browser in to their account.

const KEY = "murmur.oauth_nonce";

/** Where the "Sign in with GitHub" button goes; remembers a fresh nonce for this tab. */
export function githubStartUrl() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const nonce = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  sessionStorage.setItem(KEY, nonce);
  return `/auth/oauth/github/start?mode=web&nonce=${nonce}`;
}

/** True once, when `received` is the nonce of the sign-in this tab started. */
export function takeNonce(received) {
  const expected = sessionStorage.getItem(KEY);
  sessionStorage.removeItem(KEY);
  return Boolean(expected && received && expected === received);
}
