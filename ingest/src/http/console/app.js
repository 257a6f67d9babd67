// The console's shell: sign-in, the header (sections, tenant switch, sign
// out), the route table, and auto-refresh of the current view that keeps
// its scroll position and filters.

import { api, get, session } from "./api.js";
import { current } from "./router.js";
import { clearError, h, showError } from "./ui.js";
import { signIn } from "./views/signin.js";
import { endpointsView } from "./views/endpoints.js";
import { endpointView } from "./views/endpoint.js";
import { deliveriesView } from "./views/deliveries.js";
import { deliveryView } from "./views/delivery.js";
import { eventsView } from "./views/events.js";
import { eventView } from "./views/event.js";

/** How often the current view is refreshed, unless it says (`every`). */
const REFRESH_MS = 5000;

/** Which view a route shows: [section, view function]. */
function route(parts) {
  const [section, id] = parts;
  switch (section) {
    case "deliveries": return ["deliveries", id ? deliveryView(id) : deliveriesView()];
    case "events": return ["events", id ? eventView(id) : eventsView()];
    case "endpoints":
    default: return ["endpoints", id ? endpointView(id) : endpointsView()];
  }
}

let active = null;
let refreshed = 0;

async function render() {
  const root = document.getElementById("view");
  if (!session.token) {
    document.getElementById("top").hidden = true;
    root.replaceChildren(signIn(start));
    return;
  }
  const { parts, params } = current();
  const [section, view] = route(parts);
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.section === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  active = view;
  clearError();
  await refresh(params, true);
}

/** Load the current view's data and draw it; `first` draws from scratch. */
async function refresh(params, first = false) {
  const view = active;
  const root = document.getElementById("view");
  refreshed = Date.now();
  try {
    const data = await view.load(params || current().params);
    if (view !== active) return;
    if (first || !view.update) {
      root.replaceChildren(view.draw(data, () => refresh(undefined, true)));
      document.title = `${view.title(data)} · Herald`;
    } else {
      view.update(data);
    }
  } catch (err) {
    if (err.status === 401) {
      session.signOut();
      await render();
      showError({ message: "The token was refused; sign in again.", code: err.code });
      return;
    }
    if (first) root.replaceChildren(h("p", { class: "muted" }, "This page could not be loaded."));
    showError(err);
  }
}

async function header() {
  document.getElementById("top").hidden = false;
  const who = document.getElementById("who");
  const switcher = document.getElementById("tenant-switch");
  if (!session.isAdmin) {
    switcher.hidden = true;
    const mine = await get("/tenants").catch(() => []);
    who.textContent = `Tenant ${mine.length ? mine[0].id : ""}`;
    return;
  }
  who.textContent = "Admin";
  const select = document.getElementById("tenant-select");
  const tenants = await api("GET", "/tenants", undefined, { everyTenant: true });
  select.replaceChildren(h("option", { value: "" }, "All tenants"),
    ...tenants.map((t) => h("option", { value: t.id, selected: t.id === session.tenant }, t.name ? `${t.id} (${t.name})` : t.id)));
  switcher.hidden = false;
}

async function start() {
  try {
    await header();
  } catch (err) {
    showError(err);
  }
  await render();
}

function setup() {
  document.getElementById("sign-out").addEventListener("click", async () => {
    session.signOut();
    location.hash = "#/endpoints";
    await render();
  });
  document.getElementById("tenant-select").addEventListener("change", async (e) => {
    session.tenant = e.target.value;
    await render();
  });
  window.addEventListener("hashchange", render);
  setInterval(() => {
    const busy = document.querySelector("dialog[open]") || document.hidden;
    const due = active && Date.now() - refreshed >= (active.every || REFRESH_MS) - 100;
    if (session.token && active && active.update && due && !busy) refresh();
  }, 1000);
  if (session.token) start(); else render();
}

setup();
