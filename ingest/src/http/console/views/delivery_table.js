// The deliveries table, shared by the deliveries page, an endpoint's page
// and an event's page: event type, endpoint, colored status, status code,
// attempts and time; a row opens the delivery's attempts.

import { link } from "../router.js";
import { empty, h, shortId, statusBadge, time } from "../ui.js";

function row(d, endpoints) {
  const endpoint = endpoints && endpoints.get(d.webhook_id);
  const open = link(`/deliveries/${d.id}`);
  return h("tr", { "data-id": d.id },
    h("td", { "data-label": "Status" }, statusBadge(d.status)),
    h("td", { "data-label": "Event type" }, h("a", { href: open, "aria-label": `Delivery ${shortId(d.id)} of ${d.event_type || "event"}: open its attempts` }, d.event_type || "—")),
    h("td", { "data-label": "Endpoint" },
      h("a", { href: link(`/endpoints/${d.webhook_id}`), class: "url" }, endpoint ? endpoint.url : shortId(d.webhook_id))),
    h("td", { "data-label": "Code", class: "num" }, d.last_status_code ?? "—"),
    h("td", { "data-label": "Attempts", class: "num" }, d.attempts),
    h("td", { "data-label": "Created" }, time(d.created_at)));
}

/** The table of `deliveries`, or `emptyText` when there are none. */
export function deliveryTable(deliveries, endpoints, emptyText) {
  if (!deliveries.length) return empty(emptyText);
  return h("table", { class: "deliveries" },
    h("caption", { class: "visually-hidden" }, "Deliveries"),
    h("thead", {}, h("tr", {}, ["Status", "Event type", "Endpoint", "Code", "Attempts", "Created"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, deliveries.map((d) => row(d, endpoints))));
}

/** Endpoints by id, for the endpoint column. */
export function byId(endpoints) {
  return new Map(endpoints.map((w) => [w.id, w]));
}
