// Hash routes: `#/deliveries?status=failed` is the view `deliveries` with its
// filters, so every view and filter can be shared as a link.

export function current() {
  const hash = location.hash.replace(/^#/, "") || "/endpoints";
  const [path, search = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean);
  return { parts, params: Object.fromEntries(new URLSearchParams(search)) };
}

/** The link of a view with its parameters (empty ones dropped). */
export function link(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ""}`;
}

export function go(path, params) {
  location.hash = link(path, params);
}
