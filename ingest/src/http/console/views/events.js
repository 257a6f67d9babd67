// Events: newest first, filters by type and time range kept in the URL.

import { eventTypes, get, query } from "../api.js";
import { current, go, link } from "../router.js";
import { dateField, empty, fromLocalInput, h, shortId, time } from "../ui.js";

const FILTERS = ["type", "since", "until"];

function table(events) {
  return h("table", {},
    h("caption", { class: "visually-hidden" }, "Events"),
    h("thead", {}, h("tr", {}, ["Event", "Type", "Tenant", "Created", "Published"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, events.map((e) => h("tr", {},
      h("td", { "data-label": "Event" }, h("a", { href: link(`/events/${e.id}`), class: "mono", "aria-label": `Event ${e.id}` }, shortId(e.id))),
      h("td", { "data-label": "Type" }, e.type, e.target_webhook_id ? h("span", { class: "muted" }, " (test)") : null),
      h("td", { "data-label": "Tenant" }, e.tenant_id),
      h("td", { "data-label": "Created" }, time(e.created_at)),
      h("td", { "data-label": "Published" }, e.published_at ? time(e.published_at) : h("span", { class: "muted" }, "waiting in the outbox"))))));
}

function filterForm(params, types) {
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter events" },
    h("label", { for: "type" }, "Type", h("select", { id: "type", name: "type" },
      h("option", { value: "" }, "Any"), types.map((t) => h("option", { value: t.name, selected: t.name === params.type }, t.name)))),
    dateField("since", "Since", params.since),
    dateField("until", "Until", params.until),
    h("div", { class: "filter-buttons" },
      h("button", { type: "submit", class: "primary" }, "Apply filters"),
      h("button", { type: "button", class: "secondary", onclick: () => go("/events") }, "Clear")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    go("/events", { type: data.get("type"), since: fromLocalInput(data.get("since")), until: fromLocalInput(data.get("until")) });
  });
  return form;
}

export function eventsView() {
  let holder;
  let shown = "";
  const body = (d) => {
    const filters = Object.fromEntries(FILTERS.map((k) => [k, d.params[k]]));
    const none = FILTERS.some((k) => d.params[k])
      ? "No event matches these filters. Widen the time range or clear a filter."
      : "No events yet. Send one with POST /events (see the README's tour) or a test event from an endpoint's page.";
    return [
      d.page.data.length ? table(d.page.data) : empty(none),
      h("nav", { class: "pager", "aria-label": "Pages" },
        d.params.cursor ? h("a", { href: link("/events", filters) }, "← Newest") : null,
        d.page.next_cursor ? h("a", { href: link("/events", { ...filters, cursor: d.page.next_cursor }), rel: "next" }, "Older →")
          : h("span", { class: "muted" }, "No older events")),
    ];
  };
  return {
    title: () => "Events",
    async load(params) {
      const p = params || current().params;
      const [page, types] = await Promise.all([
        get(`/events${query({ limit: 50, cursor: p.cursor, type: p.type, since: p.since, until: p.until })}`),
        eventTypes({ archived: true })]);
      return { params: p, page, types };
    },
    draw(d) {
      holder = h("div", {}, body(d));
      shown = JSON.stringify(d.page);
      return h("section", { "aria-labelledby": "page-title" },
        h("h1", { id: "page-title" }, "Events"), filterForm(d.params, d.types), holder);
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
