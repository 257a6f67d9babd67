// The API client: the token and the admin's tenant live in session storage
// (gone when the tab closes); every error becomes an ApiError whose message
// is the API's own.

const TOKEN = "herald-token";
const TENANT = "herald-tenant";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN) || ""; },
  /** A tenant API key (`hk_…`) or the admin token. */
  get isAdmin() { return this.token !== "" && !this.token.startsWith("hk_"); },
  /** The tenant an admin acts on; "" for every tenant. */
  get tenant() { return sessionStorage.getItem(TENANT) || ""; },
  set tenant(t) {
    if (t) sessionStorage.setItem(TENANT, t); else sessionStorage.removeItem(TENANT);
  },
  signIn(token) { sessionStorage.setItem(TOKEN, token.trim()); },
  signOut() { sessionStorage.removeItem(TOKEN); sessionStorage.removeItem(TENANT); },
};

/**
 * Call the API; the parsed JSON body (null for 204). An admin's calls act on
 * the chosen tenant (`Herald-Tenant`) unless `everyTenant`.
 */
export async function api(method, path, body, { everyTenant = false } = {}) {
  const headers = { Authorization: `Bearer ${session.token}` };
  if (session.isAdmin && session.tenant && !everyTenant) headers["Herald-Tenant"] = session.tenant;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "network", `Herald did not answer (${e.message}).`);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(response.status, err.code || "error", err.message || response.statusText);
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body);
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);

/** `?a=1&b=2` from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/**
 * Every event type of the catalogue (its pages followed), by name; archived
 * ones too when `archived` (for filters of the history).
 */
export async function eventTypes({ archived = false } = {}) {
  const all = [];
  let cursor = null;
  do {
    const page = await get(`/event-types${query({ limit: 200, cursor, include_archived: archived || undefined })}`);
    all.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}
