// Drives the assistant-db dashboard in headless Debian Chromium, as a person would use it.
//
//   DASHBOARD_TOKEN=<token> node dashboard.mjs <base-url> <screenshot.png> <phone.png>
//
// With DASHBOARD_TOKEN set, first signs in at /login and checks the session cookie
// (HttpOnly, SameSite=Strict, Secure, never the token). Then checks that the KPI tiles
// equal /api/metrics, that changing the assistant filter changes the numbers and keeps
// the filter in the URL, that an interaction's detail shows its pipeline and
// citations; that a date preset compares the tiles with the period before (as
// /api/metrics says); that clicking an intent, then a bar of the volume chart, opens the
// matching interactions; that the outcome filter and the search narrow the list to what
// the export link downloads; that a conversation shows every turn, oldest first; that
// the knowledge documents page lists the registry; that auto-refresh turns on and off;
// that at phone width (390 px) nothing overflows and chart labels are at least 11 px;
// and that no script error or CSP violation occurs. Saves a laptop and a phone
// screenshot and, when signed in, signs out and checks that the session is over.
// Prints one JSON line with what it saw, or a message on stderr and exit status 1.
import { chromium } from "playwright-core";

const [base, screenshot, phoneShot] = process.argv.slice(2);
if (!base || !screenshot || !phoneShot) {
  console.error("usage: node dashboard.mjs <base-url> <screenshot.png> <phone.png>");
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

// GETs a path of the server in the browser's session; the parsed JSON.
async function getJson(context, path, label) {
  const response = await context.request.get(new URL(path, base).href);
  check(response.ok(), `${label}: ${path} answered ${response.status()}`);
  return response.json();
}

// The tiles' raw values and previous values, by key.
async function readTiles(page) {
  return page.$$eval("[data-kpi]", (tiles) =>
    Object.fromEntries(tiles.map((t) => [t.dataset.kpi, { value: t.dataset.value, previous: t.dataset.previous }])),
  );
}

// The ids of the interactions table's rows, in order.
async function tableIds(page) {
  return page.$$eval("#interactions-table tbody tr", (rows) => rows.map((r) => r.dataset.id));
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

// Progress on stderr, so that a run stopped for taking too long shows where it was.
const started = Date.now();
function step(name) {
  console.error(`${((Date.now() - started) / 1000).toFixed(1)} s: ${name}`);
}

step("launch Chromium");
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1380 } });

  step("sign in");
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

  step("The dashboard");
  const first = await page.goto(`${base}/`);
  check(first && first.ok(), `the dashboard answered ${first && first.status()}`);
  const all = await checkTiles(page, context, "all assistants");
  check(all.total_interactions > 0, "the dashboard shows no interactions over demo data");
  for (const selector of ["svg.chart", "#escalations-table tbody tr", "#interactions-table tbody tr"]) {
    check((await page.locator(selector).count()) > 0, `nothing matches ${selector}`);
  }

  // Change the assistant filter: the page reloads with the filter in its URL.
  step("Change the assistant filter");
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
  step("Open an interaction");
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

  // A date preset: the last 7 days, each tile beside the 7 days before.
  step("A date preset");
  await Promise.all([page.waitForURL(/[?&]from=7d/), page.click("nav.presets a:text-is('7 days')")]);
  const week = await checkTiles(page, context, "last 7 days");
  const comparedHref = await page.getAttribute("#compared", "data-metrics");
  check(comparedHref, "the last 7 days are not compared with the week before");
  const before = expectedTiles(await getJson(context, comparedHref, "previous week"));
  const tilesNow = await readTiles(page);
  for (const [key, want] of Object.entries(before)) {
    const shown = tilesNow[key].previous;
    if (want.value === null) {
      check(shown === "", `tile ${key}: previous ${shown}, the week before has none`);
    } else {
      check(Math.abs(Number(shown) - want.value) <= 1e-9 * Math.max(1, Math.abs(want.value)),
        `tile ${key}: previous ${shown}, the week before says ${want.value}`);
    }
  }
  check((await page.locator(".kpi-change").count()) === 6, "not every tile shows its change");

  // Click an intent: the page narrows to it, and the tiles count what its bar said.
  step("Click an intent");
  const intentLink = page.locator("a.bar-label[href*='intent=']").first();
  const intentName = (await intentLink.textContent()).trim();
  const intentCount = Number(
    (await intentLink.locator("xpath=..").locator(".bar-value").textContent()).split("·")[0].replace(/[^0-9]/g, ""),
  );
  await Promise.all([page.waitForURL(/[?&]intent=/), intentLink.click()]);
  const intent = await checkTiles(page, context, `intent ${intentName}`);
  check(intent.total_interactions === intentCount,
    `intent ${intentName}: the bar said ${intentCount}, the page counts ${intent.total_interactions}`);
  check((await page.textContent("#active-filters")).includes(intentName), "the intent filter is not shown");

  // Click a bar of the volume chart: the page narrows to that bucket.
  step("Click a bar of the volume chart");
  const bar = page.locator("svg.chart-wide a.bucket-link").first();
  const barTotal = Number(await bar.locator("g.bucket").getAttribute("data-total"));
  await Promise.all([page.waitForURL(/[?&]to=/), bar.click()]);
  const bucket = await checkTiles(page, context, "one bucket");
  check(bucket.total_interactions === barTotal,
    `the bar said ${barTotal} interactions, its page counts ${bucket.total_interactions}`);

  // Outcome and search narrow the list; the export link downloads exactly that list.
  step("Outcome and search");
  await page.goto(`${base}/?from=30d`);
  await Promise.all([page.waitForURL(/[?&]outcome=escalated/), page.selectOption("#filter-outcome", "escalated")]);
  await page.waitForLoadState("load");
  const outcomes = await page.$$eval("#interactions-table tbody tr td:nth-child(4)", (c) => c.map((x) => x.textContent.trim()));
  check(outcomes.length > 0 && outcomes.every((o) => o === "escalated"), `the outcome filter shows ${outcomes}`);
  const firstQuery = (await page.textContent("#interactions-table tbody tr td.query")).trim();
  const word = firstQuery.split(/[^A-Za-z]+/).filter((w) => w.length >= 4).sort((a, b) => b.length - a.length)[0];
  check(word, `no word to search for in "${firstQuery}"`);
  await page.fill("#filter-q", word);
  await Promise.all([page.waitForURL(/[?&]q=/), page.press("#filter-q", "Enter")]);
  const searched = await tableIds(page);
  check(searched.length > 0, `searching "${word}" found nothing`);
  const exportHref = await page.getAttribute("#export-ndjson", "href");
  check(exportHref.includes(`q=${encodeURIComponent(word)}`) && exportHref.includes("outcome=escalated"),
    `the export link does not carry the filters: ${exportHref}`);
  const exported = await context.request.get(new URL(exportHref, base).href);
  check(exported.ok(), `the NDJSON export answered ${exported.status()}`);
  const lines = (await exported.text()).trim().split("\n").map((l) => JSON.parse(l));
  check(
    JSON.stringify(lines.slice(0, searched.length).map((l) => l.id)) === JSON.stringify(searched),
    "the export does not start with the rows the list shows",
  );
  check(lines.every((l) => l.outcome === "escalated" &&
    `${l.user_query} ${l.response_text || ""}`.toLowerCase().includes(word.toLowerCase())),
    `the export holds rows the filter does not match`);
  const csv = await context.request.get(new URL(await page.getAttribute("#export-csv", "href"), base).href);
  check(csv.ok() && (await csv.text()).startsWith("id,timestamp,assistant_mode,"), "the CSV export has no header row");

  // A conversation: every turn, oldest first.
  step("A conversation");
  let sessionTurns = 0;
  for (const href of await page.$$eval("a.interaction-link", (links) => links.map((a) => a.getAttribute("href")))) {
    await page.goto(new URL(href, base).href);
    if ((await page.locator("#session-link").count()) === 0) continue;
    await Promise.all([page.waitForURL(/\/sessions\//), page.click("#session-link")]);
    const sessionId = (await page.textContent("#session-id")).trim();
    const api = await getJson(context, `/api/sessions/${encodeURIComponent(sessionId)}`, "session");
    const shown = await page.$$eval("#turns > li", (turns) => turns.map((t) => t.dataset.id));
    check(JSON.stringify(shown) === JSON.stringify(api.turns.map((t) => t.id)),
      `the conversation page shows ${shown.length} turns, the API ${api.turns.length}`);
    sessionTurns = shown.length;
    break;
  }
  check(sessionTurns > 0, "no interaction linked to its conversation");

  // The knowledge documents.
  step("The knowledge documents");
  await Promise.all([page.waitForURL(/\/knowledge-documents$/), page.click("#nav-documents")]);
  const documents = await getJson(context, "/api/knowledge-documents?limit=50", "documents");
  const documentRows = await page.locator("#documents-table tbody tr").count();
  check(documents.items.length > 0 && documentRows === documents.items.length,
    `the documents page lists ${documentRows}, the API ${documents.items.length}`);

  // Auto-refresh: off until asked for, a meta refresh when on (no script needed).
  step("Auto-refresh");
  await page.goto(`${base}/?from=7d`);
  check((await page.locator("meta[http-equiv=refresh]").count()) === 0, "auto-refresh is on by default");
  await Promise.all([page.waitForURL(/[?&]refresh=1/), page.click("#refresh-toggle")]);
  check((await page.getAttribute("meta[http-equiv=refresh]", "content")) === "60", "auto-refresh does not reload every 60 s");
  await Promise.all([page.waitForURL((url) => !url.search.includes("refresh=")), page.click("#refresh-toggle")]);

  // A phone: nothing wider than the screen, the narrow charts shown, labels ≥ 11 px.
  step("A phone");
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, deviceScaleFactor: 2 });
  await phone.addCookies(await context.cookies());
  const small = await phone.newPage();
  small.on("pageerror", (e) => problems.push(`phone page error: ${e.message}`));
  await small.goto(`${base}/?from=7d&bucket=hour`);
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `at phone width the page is ${overflow}px wider than the screen`);
  const fonts = await small.evaluate(() => {
    const sizes = [];
    for (const svg of document.querySelectorAll("svg.chart")) {
      const box = svg.getBoundingClientRect();
      if (box.width === 0) continue;
      const scale = box.width / svg.viewBox.baseVal.width;
      for (const t of svg.querySelectorAll("text")) sizes.push(Number(t.getAttribute("font-size")) * scale);
    }
    return sizes;
  });
  check(fonts.length > 0, "no chart is shown at phone width");
  const smallest = Math.min(...fonts);
  check(smallest >= 11, `at phone width a chart label is ${smallest.toFixed(1)} px`);
  check((await small.locator("svg.chart-wide").first().boundingBox()) === null, "the wide chart shows on a phone");
  const volume = await small.locator("svg.volume.chart-narrow").boundingBox();
  check(volume && volume.x >= 0 && volume.x + volume.width <= 391, "the volume chart is cut off at phone width");
  const phoneCharts = await small.locator("section.charts").boundingBox();
  await small.screenshot({
    path: phoneShot,
    fullPage: true,
    clip: { x: 0, y: 0, width: 390, height: Math.ceil(phoneCharts.y + phoneCharts.height / 2) },
  });
  await phone.close();

  // The screenshot for the README: the overview at laptop width, down to the charts' end.
  step("The screenshot for the README");
  await page.goto(`${base}/`);
  const charts = await page.locator("section.charts").boundingBox();
  check(charts, "the charts are not on the page");
  await page.screenshot({
    path: screenshot,
    fullPage: true,
    clip: { x: 0, y: 0, width: 1280, height: Math.ceil(charts.y + charts.height + 12) },
  });

  // Sign out: back at the form, and the session no longer reads.
  step("Sign out");
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
      week_interactions: week.total_interactions,
      intent: intentName,
      intent_interactions: intent.total_interactions,
      bucket_interactions: bucket.total_interactions,
      searched: word,
      search_results: searched.length,
      session_turns: sessionTurns,
      documents: documentRows,
      smallest_phone_label_px: smallest,
      screenshot,
      phone_screenshot: phoneShot,
    }),
  );
} catch (error) {
  console.error(`browser test failed: ${error.message}`);
  for (const problem of problems) console.error(problem);
  process.exitCode = 1;
} finally {
  await browser.close();
}
