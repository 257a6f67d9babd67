// The endpoint form, drawn from a list of fields: a new endpoint field is
// one entry in FIELDS (and, for a new kind of input, one entry in KINDS).

import { eventTypes, patch, post } from "../api.js";
import { dialog, h, secretDialog } from "../ui.js";

/** Every editable endpoint field, in form order. */
export const FIELDS = [
  { name: "url", label: "URL", kind: "url", required: true, help: "Where Herald POSTs the events (http or https)." },
  { name: "description", label: "Description", kind: "text" },
  { name: "event_types", label: "Event types", kind: "event_types", required: true,
    help: "Tick registered types, or write patterns: order.* (one more word), order.> (one or more), > (every type)." },
  { name: "headers", label: "Custom headers", kind: "headers", help: "One `Name: value` per line; sent with every request." },
  { name: "payload_format", label: "Payload format", kind: "select", options: ["standard", "raw"] },
  { name: "custom_payload", label: "Custom payload (JSON object)", kind: "json", help: "Sent under \"custom\" in the standard envelope." },
  { name: "filter", label: "Payload filter (JSON object)", kind: "json",
    help: "Only events whose payload matches are delivered, e.g. {\"amount\": {\"$gte\": 100}}. Operators: $eq $neq $in $nin $gt $gte $lt $lte $exists $startsWith $and $or $not; fields by dotted path." },
  { name: "rate_limit_per_second", label: "Rate limit (requests per second)", kind: "number" },
  { name: "max_in_flight", label: "Concurrent requests at most", kind: "number" },
  { name: "secret", label: "Signing secret", kind: "secret", createOnly: true, help: "Leave empty to have one generated." },
];

/** How each kind of field is drawn and read back. */
const KINDS = {
  url: { draw: (f, v) => input(f, "url", v), read: (el) => el.value.trim() },
  text: { draw: (f, v) => input(f, "text", v), read: (el) => el.value },
  secret: { draw: (f) => input(f, "password", ""), read: (el) => el.value || undefined },
  number: { draw: (f, v) => input(f, "number", v ?? "", { min: 1 }), read: (el) => (el.value === "" ? null : Number(el.value)) },
  select: {
    draw: (f, v) => h("select", { id: `f-${f.name}`, name: f.name },
      f.options.map((o) => h("option", { value: o, selected: o === (v || f.options[0]) }, o))),
    read: (el) => el.value,
  },
  json: {
    draw: (f, v) => h("textarea", { id: `f-${f.name}`, name: f.name, rows: 3, class: "mono", "data-label": f.label },
      v ? JSON.stringify(v, null, 2) : ""),
    read: (el) => {
      if (!el.value.trim()) return null;
      try { return JSON.parse(el.value); } catch { throw new Error(`${el.dataset.label} is not valid JSON.`); }
    },
  },
  headers: {
    draw: (f, v) => h("textarea", { id: `f-${f.name}`, name: f.name, rows: 3, class: "mono" },
      Object.entries(v || {}).map(([k, val]) => `${k}: ${val}`).join("\n")),
    read: (el) => {
      const out = {};
      for (const line of el.value.split("\n").map((l) => l.trim()).filter(Boolean)) {
        const i = line.indexOf(":");
        if (i < 1) throw new Error(`"${line}" is not a header (Name: value).`);
        out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      }
      return out;
    },
  },
  event_types: {
    // Registered types as boxes; patterns (and types no longer offered) in
    // one text field beside them.
    draw: (f, v, types) => {
      const names = new Set(types.map((t) => t.name));
      const others = (v || []).filter((t) => !names.has(t));
      return h("fieldset", { id: `f-${f.name}`, class: "checks" },
        h("legend", {}, f.label),
        types.map((t) => h("label", { class: "check" },
          h("input", { type: "checkbox", name: "event_types", value: t.name, checked: (v || []).includes(t.name) }),
          t.name)),
        h("label", { for: `f-${f.name}-patterns` }, "Patterns"),
        h("input", { id: `f-${f.name}-patterns`, name: "event_type_patterns", type: "text", class: "mono",
          placeholder: "order.* invoice.>", value: others.join(" ") }));
    },
    read: (el) => {
      const ticked = [...el.querySelectorAll("input:checked")].map((c) => c.value);
      const patterns = el.querySelector("input[type=text]").value.split(/[\s,]+/).filter(Boolean);
      return [...ticked, ...patterns.filter((p) => !ticked.includes(p))];
    },
  },
};

function input(f, type, value, extra = {}) {
  return h("input", { id: `f-${f.name}`, name: f.name, type, value: value ?? "", required: f.required && type !== "password", ...extra });
}

/** The form's fields and a reader of the body to send. */
function form(current, types, creating) {
  const fields = FIELDS.filter((f) => creating || !f.createOnly);
  const els = {};
  const body = h("div", { class: "form" }, fields.map((f) => {
    const el = KINDS[f.kind].draw(f, current ? current[f.name] : undefined, types);
    els[f.name] = el;
    const help = f.help ? h("small", { class: "muted", id: `h-${f.name}` }, f.help) : null;
    if (help) el.setAttribute("aria-describedby", `h-${f.name}`);
    if (f.kind === "event_types") return h("div", { class: "field" }, el, help);
    return h("div", { class: "field" }, h("label", { for: `f-${f.name}` }, f.label), el, help);
  }));
  const read = () => {
    const out = {};
    for (const f of fields) {
      const v = KINDS[f.kind].read(els[f.name]);
      const before = current ? current[f.name] : undefined;
      if (v === undefined || (current && JSON.stringify(v) === JSON.stringify(before ?? (f.kind === "headers" ? {} : null)))) continue;
      if (creating && (v === null || v === "")) continue;
      out[f.name] = v;
    }
    if (creating && !(out.event_types || []).length) throw new Error("Pick at least one event type or write a pattern.");
    return out;
  };
  return { body, read };
}

async function submitted(title, f, submit, send) {
  for (;;) {
    const values = await dialog(title, f.body, { submit, read: f.read });
    if (!values) return null;
    try {
      return await send(values);
    } catch (err) {
      f.body.prepend(h("p", { class: "form-error", role: "alert" }, `${err.message} (${err.code})`));
    }
  }
}

/** Ask for a new endpoint, create it and show its secret once; the endpoint or null. */
export async function createEndpoint() {
  const types = await eventTypes();
  const f = form(null, types, true);
  const created = await submitted("Add endpoint", f, "Create endpoint", (v) => post("/webhooks", v));
  if (created) {
    await secretDialog("Endpoint created", created.secret,
      "This is the endpoint's signing secret. Store it now: it is never shown again.");
  }
  return created;
}

/** Edit an endpoint; the updated endpoint or null. */
export async function editEndpoint(w) {
  const types = await eventTypes();
  const f = form(w, types, false);
  return submitted("Edit endpoint", f, "Save changes", (v) => patch(`/webhooks/${w.id}`, v));
}
