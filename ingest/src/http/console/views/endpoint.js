// One endpoint: its settings and stats, its deliveries, and what an
// operator does to it (send a test event, replay or recover since a time,
// edit, enable or disable, rotate the secret, delete).

import { del, get, patch, post, query } from "../api.js";
import { go, link } from "../router.js";
import { activeBadge, announce, chips, dateField, dialog, fromLocalInput, h, secretDialog, showError, time } from "../ui.js";
import { byId, deliveryTable } from "./delivery_table.js";
import { editEndpoint } from "./endpoint_form.js";

function counts(w) {
  const pct = w.success_ratio === null ? "—" : `${(w.success_ratio * 100).toFixed(1)} %`;
  return `${w.total} (${w.delivered} delivered, ${w.retrying} retrying, ${w.failed} failed, ${w.pending} pending) · success ${pct}`;
}

function statsList(w, s) {
  const ms = (v) => (v === null ? "—" : `${v.toFixed(0)} ms`);
  const item = (k, v) => [h("dt", {}, k), h("dd", {}, v)];
  return h("dl", { class: "stats" },
    item("State", [activeBadge(w), w.disabled_reason ? ` ${w.disabled_reason}` : ""]),
    item("Last hour", counts(s.last_hour)),
    item("Last 24 hours", counts(s.last_24h)),
    item("Attempt latency", `p50 ${ms(s.latency_p50_ms)}, p95 ${ms(s.latency_p95_ms)} (${s.sampled_attempts} attempts)`),
    item("Last success", time(s.last_success_at)),
    item("Last failure", time(s.last_failure_at)),
    item("Event types", chips(w.event_types)),
    w.filter ? item("Payload filter", h("code", { class: "mono" }, JSON.stringify(w.filter))) : [],
    item("Created", time(w.created_at)));
}

/** Ask for a time ("since"); an ISO string or null. */
async function askSince(title, text, submit) {
  const ago = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
  const field = dateField("since", "Since", ago);
  return dialog(title, h("div", {}, h("p", {}, text), field), { submit,
    read: () => {
      const v = fromLocalInput(field.querySelector("input").value);
      if (!v) throw new Error("Pick a time.");
      return v;
    } });
}

async function act(what, fn, refresh) {
  try {
    const message = await fn();
    if (message) announce(message);
    refresh();
  } catch (err) {
    showError(err);
  }
}

function actions(w, refresh) {
  const b = (label, onclick, cls = "secondary") => h("button", { type: "button", class: cls, onclick }, label);
  return h("div", { class: "actions", role: "group", "aria-label": "Endpoint actions" },
    b("Send test event", () => act("test", async () => {
      const r = await post(`/webhooks/${w.id}/test`);
      return `Test event sent (delivery ${r.delivery_id}).`;
    }, refresh), "primary"),
    b("Replay since…", async () => {
      const since = await askSince("Replay missed events",
        "Send every event of this endpoint's types since that time that it never received (for example while it was disabled).", "Replay");
      if (since) act("replay", async () => `${(await post(`/webhooks/${w.id}/replay`, { since })).created} events replayed.`, refresh);
    }),
    b("Recover failed since…", async () => {
      const since = await askSince("Recover failed deliveries",
        "Send again every failed delivery of this endpoint created since that time.", "Recover");
      if (since) act("recover", async () => `${(await post(`/webhooks/${w.id}/recover`, { since })).requeued} failed deliveries queued again.`, refresh);
    }),
    b("Edit", () => act("edit", async () => ((await editEndpoint(w)) ? "Endpoint saved." : ""), refresh)),
    b(w.active ? "Disable" : "Enable", () => act("toggle", async () => {
      await patch(`/webhooks/${w.id}`, { active: !w.active });
      return w.active ? "Endpoint disabled." : "Endpoint enabled.";
    }, refresh)),
    b("Rotate secret", () => act("rotate", async () => {
      const ok = await dialog("Rotate the signing secret?",
        h("p", {}, "A new secret signs from now on; the current one keeps signing beside it for the grace period."), { submit: "Rotate" });
      if (!ok) return "";
      const r = await post(`/webhooks/${w.id}/rotate-secret`);
      await secretDialog("New signing secret", r.secret, "Store the new secret now: it is never shown again.");
      return "Secret rotated.";
    }, refresh)),
    b("Delete", () => act("delete", async () => {
      const ok = await dialog("Delete this endpoint?",
        h("p", {}, `${w.url} and its whole delivery log will be deleted. This cannot be undone.`), { submit: "Delete endpoint", danger: true });
      if (!ok) return "";
      await del(`/webhooks/${w.id}`);
      go("/endpoints");
      return "Endpoint deleted.";
    }, () => {}), "danger"));
}

export function endpointView(id) {
  let holder;
  return {
    title: (d) => d.webhook.url,
    async load() {
      const [webhook, stats, page] = await Promise.all([
        get(`/webhooks/${id}`), get(`/webhooks/${id}/stats`), get(`/deliveries${query({ webhook_id: id, limit: 20 })}`)]);
      return { webhook, stats, page };
    },
    draw(d, refresh) {
      holder = h("div", {});
      this.update(d);
      return h("section", { "aria-labelledby": "page-title" },
        h("p", {}, h("a", { href: link("/endpoints") }, "← Endpoints")),
        h("h1", { id: "page-title", class: "url" }, d.webhook.url),
        d.webhook.description ? h("p", { class: "muted" }, d.webhook.description) : null,
        actions(d.webhook, refresh), holder);
    },
    update(d) {
      holder.replaceChildren(
        h("h2", {}, "Statistics"), statsList(d.webhook, d.stats),
        h("div", { class: "page-head" }, h("h2", {}, "Latest deliveries"),
          h("a", { href: link("/deliveries", { webhook_id: id }) }, "All deliveries of this endpoint →")),
        deliveryTable(d.page.data, byId([d.webhook]), "No deliveries yet. Send a test event to see one."));
    },
  };
}
