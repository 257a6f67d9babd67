// DOM helpers: elements, badges, times, alerts and dialogs. No framework:
// views build elements with `h` and replace what they own.

/** `h("a", {href: "#/x", class: "y"}, "text", child)`. `on*` attributes bind listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const STATUSES = ["pending", "delivered", "retrying", "failed"];

/** A delivery status as a colored badge whose text says it. */
export function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, status);
}

export function activeBadge(w) {
  return w.active
    ? h("span", { class: "badge status-delivered" }, "Active")
    : h("span", { class: "badge status-failed", title: w.disabled_reason || "" }, "Disabled");
}

export function chips(types) {
  return h("ul", { class: "chips", "aria-label": "Event types" }, types.map((t) => h("li", {}, t)));
}

const UNITS = [["day", 86400], ["hour", 3600], ["min", 60], ["s", 1]];

/** "3 min ago"; the exact time on hover, and in the element for machines. */
export function time(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const at = new Date(iso);
  const secs = Math.round((Date.now() - at.getTime()) / 1000);
  let text = "just now";
  for (const [unit, size] of UNITS) {
    const n = Math.floor(Math.abs(secs) / size);
    if (n >= 1 && Math.abs(secs) >= 5) {
      const label = unit === "s" || unit === "min" ? unit : `${unit}${n > 1 ? "s" : ""}`;
      text = secs >= 0 ? `${n} ${label} ago` : `in ${n} ${label}`;
      break;
    }
  }
  return h("time", { datetime: iso, title: at.toLocaleString() }, text);
}

export function shortId(id) {
  return id ? id.slice(-12) : "";
}

/** Show an error (or any message) above the view until dismissed or replaced. */
export function showError(err) {
  const box = document.getElementById("alerts");
  const code = err && err.code ? ` (${err.code})` : "";
  const close = h("button", { type: "button", class: "link", "aria-label": "Dismiss this message",
    onclick: () => box.replaceChildren() }, "×");
  box.replaceChildren(h("div", { class: "alert error" }, h("span", {}, `${err.message || err}${code}`), close));
}

export function clearError() {
  document.getElementById("alerts").replaceChildren();
}

/** Tell screen readers (and the page's status line) what happened. */
export function announce(text) {
  document.getElementById("live-status").textContent = text;
  const toast = h("div", { class: "toast" }, text);
  document.body.append(toast);
  setTimeout(() => toast.remove(), 3000);
}

/** An empty state that says what to do. */
export function empty(text, action) {
  return h("div", { class: "empty" }, h("p", {}, text), action || null);
}

/** A modal dialog; resolves with the value `onsubmit` returns, or null when cancelled. */
export function dialog(title, body, { submit = "OK", danger = false, cancel = "Cancel", read } = {}) {
  return new Promise((resolve) => {
    const form = h("form", { method: "dialog" });
    const error = h("p", { class: "form-error", role: "alert" });
    const dlg = h("dialog", { "aria-labelledby": "dialog-title" },
      form);
    form.append(
      h("h2", { id: "dialog-title" }, title), body, error,
      h("div", { class: "actions" },
        cancel ? h("button", { type: "button", class: "secondary", onclick: () => { dlg.close(); } }, cancel) : null,
        h("button", { type: "submit", class: danger ? "danger" : "primary" }, submit)));
    let result = null;
    form.addEventListener("submit", (e) => {
      if (!read) { result = true; return; }
      try {
        result = read();
      } catch (err) {
        e.preventDefault();
        error.textContent = err.message;
      }
    });
    dlg.addEventListener("close", () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** A secret shown once, with a copy button. */
export function secretDialog(title, secret, note) {
  const input = h("input", { type: "text", readonly: true, value: secret, id: "secret-value",
    "aria-label": "Signing secret", class: "mono" });
  const copy = h("button", { type: "button", class: "secondary", onclick: async () => {
    input.select();
    try { await navigator.clipboard.writeText(secret); announce("Secret copied."); }
    catch { document.execCommand("copy"); announce("Secret selected: copy it now."); }
  } }, "Copy");
  return dialog(title, h("div", {}, h("p", {}, note), h("div", { class: "copy-row" }, input, copy)),
    { submit: "I have stored it", cancel: null });
}

/** A `datetime-local` field with a label. */
export function dateField(id, label, value) {
  return h("label", { for: id }, label,
    h("input", { type: "datetime-local", id, name: id, value: toLocalInput(value) }));
}

/** An ISO time as a `datetime-local` value, in local time. */
export function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value as an ISO time (UTC); "" stays "". */
export function fromLocalInput(v) {
  return v ? new Date(v).toISOString() : "";
}
