// Drives the assistant-db dashboard in headless Debian Chromium, as a person would use it.
//
//   DASHBOARD_TOKEN=<token> node dashboard.mjs <base-url> <screenshot.png>
//
// With DASHBOARD_TOKEN set, first signs in at /login and checks the session cookie
// (HttpOnly, SameSite=Strict, Secure, never the token). Then checks that the KPI tiles
// equal /api/metrics, that changing the assistant filter changes the numbers and keeps
// the filter in the URL, that an interaction's detail shows its pipeline and
// citations, that the page fits a phone's width, and that no script error or CSP
// violation occurs; saves a screenshot; and, when signed in, signs out and checks that
// the session is over. Prints one JSON line with what it saw, or a message on stderr
// and exit status 1.
import { chromium } from "playwright-core";

const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error("usage: node dashboard.mjs <base-url> <screenshot.png>");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const token = process.env.DASHBOARD_TOKEN || "";

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// What each tile shows: the raw value from the metrics object, and its text.
function expectedTiles(m) {
  const sessions = m.sessions;
  const containment = sessions.total ? sessions.contained / sessions.total : null;
  return {
    total_interactions: { value: m.total_interactions, unit: 1, suffix: "" },
    resolution_rate: { value: m.resolution_rate, unit: 100, suffix: "%" },
    escalation_rate: { value: m.escalation_rate, unit: 100, suffix: "%" },
    containment: { value: containment, unit: 100, suffix: "%" },
    avg_confidence: { value: m.avg_confidence, unit: 1, suffix: "" },
    p95_latency_ms: { value: m.processing_time_ms.p95, unit: 1, suffix: " ms" },
  };
}

// Reads the tiles and compares them with the JSON the page links to.
async function checkTiles(page, context, label) {
  const href = await page.getAttribute("#metrics-json", "href");
  check(href && href.startsWith("/api/metrics"), `${label}: no link to /api/metrics`);
  const response = await context.request.get(new URL(href, base).href);
  check(response.ok(), `${label}: ${href} answered ${response.status()}`);
  const metrics = await response.json();
  const shown = await page.$$eval("[data-kpi]", (tiles) =>
    Object.fromEntries(
      tiles.map((t) => [
        t.dataset.kpi,
        { raw: t.dataset.value, text: t.querySelector(".kpi-value").textContent.trim() },
      ]),
    ),
  );
  const expected = expectedTiles(metrics);
  for (const [key, want] of Object.entries(expected)) {
    const tile = shown[key];
    check(tile, `${label}: no tile ${key}`);
    if (want.value === null) {
      check(tile.raw === "" && tile.text === "–", `${label}: ${key} should be empty, shows ${tile.text}`);
      continue;
    }
    const raw = Number(tile.raw);
    check(
      Math.abs(raw - want.value) <= 1e-9 * Math.max(1, Math.abs(want.value)),
      `${label}: tile ${key} holds ${tile.raw}, /api/metrics says ${want.value}`,
    );
    check(tile.text.endsWith(want.suffix), `${label}: tile ${key} shows "${tile.text}"`);
    const number = Number(tile.text.slice(0, tile.text.length - want.suffix.length).replace(/,/g, ""));
    const decimals = (tile.text.split(".")[1] || "").replace(/[^0-9]/g, "").length;
    check(
      Math.abs(number - want.value * want.unit) <= 0.5 * 10 ** -decimals + 1e-9,
      `${label}: tile ${key} shows "${tile.text}" for ${want.value}`,
    );
  }
  return metrics;
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1380 } });

  // Sign in the way a person does: the dashboard sends the browser to the form.
  let signedIn = false;
  if (token) {
    const login = await context.newPage();
    const refused = await login.goto(`${base}/`);
    check(refused && refused.status() === 401, `the dashboard answered ${refused && refused.status()} before sign-in`);
    await login.fill("input[name=token]", token);
    await Promise.all([login.waitForURL(`${base}/`), login.click("form[action='/login'] button")]);
    const cookies = await context.cookies(base);
    const session = cookies.find((c) => c.name === "assistant_db_session");
    check(session, `no session cookie after sign-in: ${JSON.stringify(cookies.map((c) => c.name))}`);
    check(session.httpOnly, "the session cookie is not HttpOnly");
    check(session.sameSite === "Strict", `the session cookie is SameSite=${session.sameSite}`);
    check(session.secure, "the session cookie is not Secure behind a TLS proxy");
    check(!session.value.includes(token), "the session cookie holds the token");
    await login.close();
    signedIn = true;
  }

  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
  });

  const first = await page.goto(`${base}/`);
  check(first && first.ok(), `the dashboard answered ${first && first.status()}`);
  const all = await checkTiles(page, context, "all assistants");
  check(all.total_interactions > 0, "the dashboard shows no interactions over demo data");
  for (const selector of ["svg.chart", "#escalations-table tbody tr", "#interactions-table tbody tr"]) {
    check((await page.locator(selector).count()) > 0, `nothing matches ${selector}`);
  }

  // Change the assistant filter: the page reloads with the filter in its URL.
  await Promise.all([page.waitForURL(/[?&]mode=banker/), page.selectOption("#filter-mode", "banker")]);
  await page.waitForLoadState("load");
  const banker = await checkTiles(page, context, "banker");
  check(
    banker.total_interactions > 0 && banker.total_interactions < all.total_interactions,
    `the banker filter did not change the numbers (${banker.total_interactions} of ${all.total_interactions})`,
  );
  check((await page.inputValue("#filter-mode")) === "banker", "the filter does not show banker");
  const filteredUrl = page.url();

  // Open an interaction: its pipeline, citations and escalations.
  await Promise.all([page.waitForURL(/\/interactions\//), page.locator("a.interaction-link").first().click()]);
  const id = (await page.textContent("#interaction-id")).trim();
  const detailResponse = await context.request.get(`${base}/api/interactions/${id}`);
  check(detailResponse.ok(), `/api/interactions/${id} answered ${detailResponse.status()}`);
  const detail = await detailResponse.json();
  check(detail.assistant_mode === "banker", `opened a ${detail.assistant_mode} interaction from the banker view`);
  check((await page.textContent("#user-query")).trim() === detail.user_query.trim(), "the query differs from the API's");
  check((await page.locator("#pipeline > li").count()) === 6, "the pipeline does not show six steps");
  const citations = (detail.citations || []).length;
  check(
    (await page.textContent("#citations h2")).includes(`Citations (${citations})`),
    `the page does not list ${citations} citations`,
  );
  check(
    (await page.textContent("#escalation-list h2")).includes(`Escalations (${detail.escalations.length})`),
    "the escalations differ from the API's",
  );
  await Promise.all([page.waitForURL(/[?&]mode=banker/), page.click("p.back a")]);
  check(page.url() === filteredUrl, `back from the detail lands on ${page.url()}, not ${filteredUrl}`);

  // A phone: nothing wider than the screen.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const small = await phone.newPage();
  await small.goto(`${base}/`);
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `at phone width the page is ${overflow}px wider than the screen`);
  await phone.close();

  // The screenshot for the README: the overview at laptop width, down to the charts' end.
  await page.goto(`${base}/`);
  const charts = await page.locator("section.charts").boundingBox();
  check(charts, "the charts are not on the page");
  await page.screenshot({
    path: screenshot,
    fullPage: true,
    clip: { x: 0, y: 0, width: 1280, height: Math.ceil(charts.y + charts.height + 12) },
  });

  // Sign out: back at the form, and the session no longer reads.
  if (signedIn) {
    await Promise.all([page.waitForURL(/\/login$/), page.click("#sign-out")]);
    check((await page.locator("input[name=token]").count()) === 1, "signing out does not show the sign-in form");
    const after = await context.request.get(`${base}/api/metrics`);
    check(after.status() === 401, `after sign-out /api/metrics answered ${after.status()}`);
  }

  check(problems.length === 0, problems.join("\n"));
  console.log(
    JSON.stringify({
      signed_in: signedIn,
      all_interactions: all.total_interactions,
      banker_interactions: banker.total_interactions,
      opened: id,
      citations,
      escalations: detail.escalations.length,
      screenshot,
    }),
  );
} catch (error) {
  console.error(`browser test failed: ${error.message}`);
  for (const problem of problems) console.error(problem);
  process.exitCode = 1;
} finally {
  await browser.close();
}
