// Sign in with the admin token or a tenant API key; the token is checked
// against the API before it is kept (session storage).

import { get, session } from "../api.js";
import { h, showError } from "../ui.js";

export function signIn(onSignedIn) {
  const input = h("input", { type: "password", id: "token", name: "token", required: true,
    autocomplete: "current-password", "aria-describedby": "token-help" });
  const form = h("form", { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to Herald"),
    h("label", { for: "token" }, "Admin token or tenant API key"),
    input,
    h("p", { id: "token-help", class: "muted" },
      "The admin token (HERALD_ADMIN_TOKEN) sees every tenant; a tenant API key (hk_…) sees its own. ",
      "It is kept in this tab only and forgotten when you sign out or close it."),
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    session.signIn(input.value);
    try {
      await get("/webhooks?limit=1");
      await onSignedIn();
    } catch (err) {
      session.signOut();
      showError(err.status === 401 ? { message: "That token was not accepted.", code: err.code } : err);
      input.focus();
    }
  });
  setTimeout(() => input.focus(), 0);
  return form;
}
