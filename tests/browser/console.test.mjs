// Herald's operations console in a real browser (Debian's chromium through
// playwright-core, never a downloaded browser). Run by the Rust test
// `console::browser`, which starts ingest, a dispatcher and a test receiver
// and passes their addresses in the environment:
//
//   HERALD_URL, HERALD_ADMIN_TOKEN, HERALD_TENANT, HERALD_TENANT_KEY,
//   HERALD_RECEIVER_OK (answers 200), HERALD_RECEIVER_FLAKY (500 four
//   times, then 200), HERALD_TENANT_ENDPOINT (the tenant's own endpoint URL),
//   HERALD_SCREENSHOTS (where the PNGs go), HERALD_CHROMIUM, HERALD_PROFILE.
//
// Exits non-zero at the first step that fails, naming it.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const URL = env("HERALD_URL");
const SHOTS = env("HERALD_SCREENSHOTS");
const WAIT = 30_000;
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launchPersistentContext(env("HERALD_PROFILE"), {
  executablePath: process.env.HERALD_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 900 },
});
const page = browser.pages()[0] || (await browser.newPage());
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
// Failed requests the test provokes (a wrong token, an invalid URL) are
// logged by Chromium as "Failed to load resource"; anything else (a script
// error, a Content-Security-Policy refusal) is a problem.
page.on("console", (m) => {
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console error: ${m.text()}`);
});
page.setDefaultTimeout(WAIT);

let stepNo = 0;
async function step(name, fn) {
  stepNo += 1;
  const started = Date.now();
  try {
    await fn();
    console.log(`ok ${stepNo} - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    console.log(`not ok ${stepNo} - ${name}`);
    await page.screenshot({ path: `${SHOTS}/failure.png`, fullPage: true }).catch(() => {});
    throw e;
  }
}

async function shot(name, width = 1280) {
  await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function signIn(token) {
  await page.getByLabel("Admin token or tenant API key").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

async function addEndpoint(url, description, types) {
  await page.getByRole("button", { name: "Add endpoint" }).click();
  const dialog = page.getByRole("dialog", { name: "Add endpoint" });
  await dialog.getByLabel("URL").fill(url);
  await dialog.getByLabel("Description").fill(description);
  for (const t of types) await dialog.getByLabel(t, { exact: true }).check();
  await dialog.getByRole("button", { name: "Create endpoint" }).click();
  const secret = page.getByRole("dialog", { name: "Endpoint created" });
  const value = await secret.getByLabel("Signing secret").inputValue();
  assert.match(value, /^whsec_/);
  await secret.getByRole("button", { name: "I have stored it" }).click();
  await page.getByRole("heading", { level: 1, name: url }).waitFor();
}

/** Wait until the page's deliveries table shows a delivery with `status`. */
async function waitForBadge(status, scope = page) {
  await scope.locator(`table .badge.status-${status}`).first().waitFor({ timeout: WAIT });
}

await step("the console asks for a token and refuses a wrong one", async () => {
  await page.goto(URL);
  await page.getByRole("heading", { name: "Sign in to Herald" }).waitFor();
  await shot("sign-in");
  await page.getByLabel("Admin token or tenant API key").fill("not-a-valid-token-at-all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "That token was not accepted" }).waitFor();
});

await step("the admin signs in, sees every tenant, picks one and sees an empty state that says what to do", async () => {
  await signIn(env("HERALD_ADMIN_TOKEN"));
  await page.getByRole("link", { name: env("HERALD_TENANT_ENDPOINT") }).waitFor();
  await page.getByLabel("Tenant to act on").selectOption("default");
  await page.getByText("No endpoints yet. Add one to start receiving events.").waitFor();
});

await step("an API error is shown in the page", async () => {
  await page.getByRole("button", { name: "Add endpoint" }).click();
  const dialog = page.getByRole("dialog", { name: "Add endpoint" });
  await dialog.getByLabel("URL").fill("ftp://example.com/hook");
  await dialog.getByLabel("order.created", { exact: true }).check();
  await dialog.getByRole("button", { name: "Create endpoint" }).click();
  await page.getByRole("dialog", { name: "Add endpoint" }).getByText(/invalid_url/).waitFor();
  await page.getByRole("dialog", { name: "Add endpoint" }).getByRole("button", { name: "Cancel" }).click();
});

await step("the admin creates an endpoint pointing at the test receiver (secret shown once)", async () => {
  await addEndpoint(env("HERALD_RECEIVER_OK"), "Orders service", ["order.created", "webhook.test"]);
});

await step("a test event sent from the endpoint page turns delivered", async () => {
  await page.getByRole("button", { name: "Send test event" }).click();
  await page.getByRole("status").filter({ hasText: "Test event sent" }).waitFor({ state: "attached" });
  await waitForBadge("delivered");
  await page.getByText(/1 \(1 delivered/).first().waitFor();
  await shot("endpoint");
});

await step("a second endpoint's test delivery fails", async () => {
  await page.getByRole("link", { name: "← Endpoints" }).click();
  await addEndpoint(env("HERALD_RECEIVER_FLAKY"), "Billing (flaky)", ["order.created"]);
  await page.getByRole("button", { name: "Send test event" }).click();
  await waitForBadge("failed");
  await page.getByRole("link", { name: "← Endpoints" }).click();
  await page.locator("table .badge.status-failed").first().waitFor();
  await shot("endpoints");
  await shot("endpoints-phone", 390);
});

await step("the deliveries page filters by status, and the filter is in the URL", async () => {
  await page.getByRole("link", { name: "Deliveries" }).click();
  await waitForBadge("delivered");
  await page.getByLabel("Status").selectOption("failed");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await page.waitForURL(/status=failed/);
  // The table is redrawn when the filtered page arrives: wait for it rather
  // than reading the rows shown before the filter.
  await page.waitForFunction(() => {
    const badges = [...document.querySelectorAll("table.deliveries tbody .badge")];
    return badges.length > 0 && badges.every((b) => b.textContent.trim() === "failed");
  });
  const statuses = await page.locator("table.deliveries tbody .badge").allTextContents();
  assert.deepEqual(statuses, ["failed"]);
  await shot("deliveries");
  await page.reload();
  await page.locator("table.deliveries tbody .badge.status-failed").waitFor();
  assert.equal(await page.getByLabel("Status").inputValue(), "failed");
  await shot("deliveries-phone", 390);
});

await step("the attempts of the failed delivery show codes and redacted headers", async () => {
  await page.locator("table.deliveries tbody tr a").first().click();
  await page.getByRole("heading", { name: "Attempts, newest first" }).waitFor();
  assert.equal(await page.locator(".timeline .attempt").count(), 4);
  await page.getByRole("heading", { name: /Attempt 4: HTTP 500/ }).waitFor();
  await page.locator(".timeline .attempt").first().getByText(/Request headers/).click();
  const headers = await page.locator(".timeline .attempt").first().locator(".headers").first().innerText();
  assert.match(headers, /webhook-signature\s+\[redacted\]/);
});

await step("Retry now delivers it, and the timeline shows the new attempt", async () => {
  await page.getByRole("button", { name: "Retry now" }).click();
  await page.getByRole("heading", { name: /Attempt 5: HTTP 200/ }).waitFor();
  await page.locator(".stats .badge.status-delivered").waitFor();
  await shot("delivery");
  await shot("delivery-phone", 390);
});

await step("the events list and an event's pretty payload with its deliveries", async () => {
  await page.getByRole("link", { name: "Events" }).click();
  await page.getByRole("cell", { name: /webhook\.test/ }).first().waitFor();
  await shot("events");
  // The newest event may be an operational one (the retry above recovered a
  // failed delivery: herald.delivery.recovered); open a test event's row.
  await page.getByRole("row", { name: /webhook\.test/ }).first().locator("a").first().click();
  const payload = await page.getByLabel("Event payload").innerText();
  assert.match(payload, /\n {2}"message": "This is a test event sent by Herald\."/);
  await waitForBadge("delivered");
  await shot("event");
});

await step("the admin switches to the tenant and sees only its endpoint", async () => {
  await page.getByRole("link", { name: "Endpoints" }).click();
  await page.getByLabel("Tenant to act on").selectOption(env("HERALD_TENANT"));
  await page.getByRole("link", { name: env("HERALD_TENANT_ENDPOINT") }).waitFor();
  assert.equal(await page.getByRole("link", { name: env("HERALD_RECEIVER_OK") }).count(), 0);
  await page.getByLabel("Tenant to act on").selectOption("");
  await page.getByRole("link", { name: env("HERALD_RECEIVER_OK") }).waitFor();
  await page.getByRole("link", { name: env("HERALD_TENANT_ENDPOINT") }).waitFor();
});

await step("signed in with the tenant's key, the console shows that tenant alone", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in to Herald" }).waitFor();
  await signIn(env("HERALD_TENANT_KEY"));
  await page.getByText(`Tenant ${env("HERALD_TENANT")}`).waitFor();
  assert.equal(await page.locator("#tenant-switch").isHidden(), true);
  await page.getByRole("link", { name: env("HERALD_TENANT_ENDPOINT") }).waitFor();
  const text = await page.locator("#view").innerText();
  assert.ok(!text.includes(env("HERALD_RECEIVER_OK")) && !text.includes(env("HERALD_RECEIVER_FLAKY")), text);
  await page.getByRole("link", { name: "Deliveries" }).click();
  await page.getByText(/No deliveries yet/).waitFor();
  await page.getByRole("link", { name: "Events" }).click();
  await page.getByText(/No events yet/).waitFor();
  await shot("tenant-portal");
});

await step("every control has an accessible name and the page logged no error", async () => {
  const unnamed = await page.evaluate(() => [...document.querySelectorAll("button, input, select, textarea, a")]
    .filter((el) => {
      const labelled = el.labels && el.labels.length > 0;
      const name = (el.getAttribute("aria-label") || el.textContent || el.getAttribute("title") || "").trim();
      return !labelled && !name && el.getAttribute("type") !== "hidden";
    }).map((el) => el.outerHTML));
  assert.deepEqual(unnamed, []);
  assert.deepEqual(problems, []);
});

await browser.close();
console.log(`${stepNo} passed, 0 failed`);
