// The delivery log: filters by endpoint, status, event type and time range,
// kept in the URL; pages (the cursor is in the URL too, so the browser's
// back button returns to newer pages).

import { eventTypes, get, query } from "../api.js";
import { current, go, link } from "../router.js";
import { STATUSES, dateField, fromLocalInput, h } from "../ui.js";
import { byId, deliveryTable } from "./delivery_table.js";

const FILTERS = ["webhook_id", "status", "event_type", "since", "until"];

function select(id, label, options, value) {
  return h("label", { for: id }, label,
    h("select", { id, name: id },
      h("option", { value: "" }, "Any"),
      options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))));
}

function filterForm(params, endpoints, types) {
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter deliveries" },
    select("webhook_id", "Endpoint", endpoints.map((w) => [w.id, w.url]), params.webhook_id),
    select("status", "Status", STATUSES.map((s) => [s, s]), params.status),
    select("event_type", "Event type", types.map((t) => [t.name, t.name]), params.event_type),
    dateField("since", "Since", params.since),
    dateField("until", "Until", params.until),
    h("div", { class: "filter-buttons" },
      h("button", { type: "submit", class: "primary" }, "Apply filters"),
      h("button", { type: "button", class: "secondary", onclick: () => go("/deliveries") }, "Clear")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const next = {};
    for (const k of FILTERS) {
      const v = data.get(k) || "";
      next[k] = k === "since" || k === "until" ? fromLocalInput(v) : v;
    }
    go("/deliveries", next);
  });
  return form;
}

function pager(params, page) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, params[k]]));
  return h("nav", { class: "pager", "aria-label": "Pages" },
    params.cursor ? h("a", { href: link("/deliveries", filters) }, "← Newest") : null,
    page.next_cursor
      ? h("a", { href: link("/deliveries", { ...filters, cursor: page.next_cursor }), rel: "next" }, "Older →")
      : h("span", { class: "muted" }, "No older deliveries"));
}

export function deliveriesView() {
  let holder;
  let shown = "";
  const body = (d) => {
    const filtered = FILTERS.some((k) => d.params[k]);
    const text = filtered
      ? "No delivery matches these filters. Widen the time range or clear a filter."
      : "No deliveries yet. Deliveries appear here when an event reaches an endpoint; send a test event from an endpoint's page.";
    return [deliveryTable(d.page.data, d.endpoints, text), pager(d.params, d.page)];
  };
  return {
    title: () => "Deliveries",
    async load(params) {
      const p = params || current().params;
      const q = query({ limit: 50, cursor: p.cursor, ...Object.fromEntries(FILTERS.map((k) => [k, p[k]])) });
      const [page, endpoints, types] = await Promise.all([
        get(`/deliveries${q}`), get("/webhooks?limit=200"), eventTypes({ archived: true })]);
      return { params: p, page, endpoints: byId(endpoints.data), endpointList: endpoints.data, types };
    },
    draw(d) {
      holder = h("div", { id: "deliveries-table" }, body(d));
      shown = JSON.stringify(d.page);
      return h("section", { "aria-labelledby": "page-title" },
        h("h1", { id: "page-title" }, "Deliveries"),
        filterForm(d.params, d.endpointList, d.types), holder);
    },
    update(d) {
      const json = JSON.stringify(d.page);
      if (json !== shown) {
        shown = json;
        holder.replaceChildren(...body(d));
      }
    },
  };
}
