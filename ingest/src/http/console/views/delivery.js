// One delivery: where it stands and every attempt (time, duration, code,
// error, response excerpt, request and response headers), with "Retry now".

import { get, post } from "../api.js";
import { link } from "../router.js";
import { announce, h, showError, statusBadge, time } from "../ui.js";

function headers(title, map) {
  const entries = Object.entries(map || {});
  if (!entries.length) return null;
  return h("details", {},
    h("summary", {}, `${title} (${entries.length})`),
    h("dl", { class: "headers mono" }, entries.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
}

function attempt(a) {
  const ok = a.status_code !== null && a.status_code >= 200 && a.status_code < 300;
  return h("li", { class: `attempt ${ok ? "ok" : "bad"}` },
    h("h3", {}, `Attempt ${a.attempt}: `, a.status_code !== null ? `HTTP ${a.status_code}` : "no response",
      ` in ${a.duration_ms} ms`),
    h("p", { class: "muted" }, time(a.started_at), a.dispatcher_id ? ` · by ${a.dispatcher_id}` : ""),
    a.error ? h("p", { class: "error-text" }, a.error) : null,
    a.response_body ? h("details", {}, h("summary", {}, "Response body (excerpt)"), h("pre", {}, a.response_body)) : null,
    headers("Request headers", a.request_headers),
    headers("Response headers", a.response_headers));
}

function summary(d) {
  const item = (k, v) => [h("dt", {}, k), h("dd", {}, v)];
  return h("dl", { class: "stats" },
    item("Status", statusBadge(d.status)),
    item("Event", h("a", { href: link(`/events/${d.event_id}`) }, d.event_type || d.event_id)),
    item("Endpoint", h("a", { href: link(`/endpoints/${d.webhook_id}`) }, d.webhook_id)),
    item("Attempts", String(d.attempts)),
    item("Last status code", d.last_status_code ?? "—"),
    item("Next retry", time(d.next_retry_at)),
    item("Created", time(d.created_at)));
}

export function deliveryView(id) {
  let holder;
  let shown = "";
  return {
    title: () => `Delivery ${id}`,
    load: () => get(`/deliveries/${id}`),
    draw(d, refresh) {
      holder = h("div", {});
      this.update(d);
      const retry = h("button", { type: "button", class: "primary", onclick: async () => {
        try {
          await post(`/deliveries/${id}/retry`);
          announce("Delivery queued again.");
          refresh();
        } catch (err) {
          showError(err);
        }
      } }, "Retry now");
      return h("section", { "aria-labelledby": "page-title" },
        h("p", {}, h("a", { href: link("/deliveries") }, "← Deliveries")),
        h("div", { class: "page-head" }, h("h1", { id: "page-title" }, "Delivery ", h("span", { class: "mono" }, id)), retry),
        holder);
    },
    update(d) {
      const json = JSON.stringify(d);
      if (json === shown) return;
      shown = json;
      const log = d.attempt_log.slice().reverse();
      holder.replaceChildren(summary(d),
        h("h2", {}, "Attempts, newest first"),
        log.length ? h("ol", { class: "timeline", reversed: true }, log.map(attempt))
          : h("p", { class: "muted" }, "No attempt yet: it is waiting for a dispatcher."));
    },
  };
}
