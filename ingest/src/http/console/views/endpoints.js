// Endpoints: URL and description, event-type chips, Active/Disabled with
// the reason, the 24 h success ratio and the last delivery; "Add endpoint".

import { get, query, session } from "../api.js";
import { link, go } from "../router.js";
import { activeBadge, chips, empty, h, statusBadge, time } from "../ui.js";
import { createEndpoint } from "./endpoint_form.js";

function ratio(stats) {
  const r = stats && stats.last_24h.success_ratio;
  return r === null || r === undefined ? "—" : `${(r * 100).toFixed(1)} %`;
}

async function withSummary(w) {
  const [stats, last] = await Promise.all([
    get(`/webhooks/${w.id}/stats`).catch(() => null),
    get(`/deliveries${query({ webhook_id: w.id, limit: 1 })}`).catch(() => ({ data: [] })),
  ]);
  return { ...w, stats, last: last.data[0] || null };
}

function row(w) {
  return h("tr", {},
    h("td", { "data-label": "Endpoint" },
      h("a", { href: link(`/endpoints/${w.id}`), class: "url" }, w.url),
      w.description ? h("div", { class: "muted" }, w.description) : null,
      session.isAdmin && !session.tenant ? h("div", { class: "muted" }, `tenant ${w.tenant_id}`) : null),
    h("td", { "data-label": "Event types" }, chips(w.event_types)),
    h("td", { "data-label": "State" }, activeBadge(w),
      !w.active && w.disabled_reason ? h("div", { class: "muted reason" }, w.disabled_reason) : null),
    h("td", { "data-label": "24 h success", class: "num" }, ratio(w.stats)),
    h("td", { "data-label": "Last delivery" },
      w.last ? h("span", {}, statusBadge(w.last.status), " ", time(w.last.created_at)) : h("span", { class: "muted" }, "none yet")));
}

function table(items) {
  if (!items.length) {
    return empty("No endpoints yet. Add one to start receiving events.");
  }
  return h("table", {},
    h("caption", { class: "visually-hidden" }, "Endpoints"),
    h("thead", {}, h("tr", {}, ["Endpoint", "Event types", "State", "24 h success", "Last delivery"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, items.map(row)));
}

export function endpointsView() {
  let holder;
  let shown = "";
  return {
    title: () => "Endpoints",
    // Each row reads its endpoint's stats: refreshed less often than lists.
    every: 30000,
    async load() {
      const page = await get("/webhooks?limit=100");
      return Promise.all(page.data.map(withSummary));
    },
    draw(items, refresh) {
      holder = h("div", { id: "endpoints-table" }, table(items));
      shown = JSON.stringify(items);
      const add = h("button", { type: "button", class: "primary", onclick: async () => {
        const created = await createEndpoint();
        if (created) go(`/endpoints/${created.id}`); else refresh();
      } }, "Add endpoint");
      return h("section", { "aria-labelledby": "page-title" },
        h("div", { class: "page-head" }, h("h1", { id: "page-title" }, "Endpoints"), add),
        holder);
    },
    update(items) {
      const json = JSON.stringify(items);
      if (json !== shown) {
        shown = json;
        holder.replaceChildren(table(items));
      }
    },
  };
}
