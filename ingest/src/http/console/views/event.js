// One event: its payload, pretty-printed, and its deliveries.

import { get } from "../api.js";
import { link } from "../router.js";
import { h, time } from "../ui.js";
import { byId, deliveryTable } from "./delivery_table.js";

export function eventView(id) {
  let holder;
  let shown = "";
  return {
    title: (e) => `${e.type} ${id}`,
    async load() {
      const [event, endpoints] = await Promise.all([get(`/events/${id}`), get("/webhooks?limit=200")]);
      return { event, endpoints: byId(endpoints.data) };
    },
    draw(d) {
      const e = d.event;
      const item = (k, v) => [h("dt", {}, k), h("dd", {}, v)];
      holder = h("div", {});
      this.update(d);
      return h("section", { "aria-labelledby": "page-title" },
        h("p", {}, h("a", { href: link("/events") }, "← Events")),
        h("h1", { id: "page-title" }, e.type, " ", h("span", { class: "mono muted" }, id)),
        h("dl", { class: "stats" },
          item("Tenant", e.tenant_id),
          item("Created", time(e.created_at)),
          item("Published", e.published_at ? time(e.published_at) : "waiting in the outbox"),
          item("Idempotency key", e.idempotency_key || "—"),
          e.target_webhook_id ? item("Sent only to", h("a", { href: link(`/endpoints/${e.target_webhook_id}`) }, e.target_webhook_id)) : []),
        h("h2", {}, "Payload"),
        h("pre", { class: "payload", tabindex: 0, "aria-label": "Event payload" }, JSON.stringify(e.payload, null, 2)),
        h("h2", {}, "Deliveries"), holder);
    },
    update(d) {
      const json = JSON.stringify(d.event.deliveries);
      if (json === shown) return;
      shown = json;
      holder.replaceChildren(deliveryTable(d.event.deliveries, d.endpoints,
        "No deliveries: no active endpoint of this tenant subscribes to this type."));
    },
  };
}
