// The web UI's benchmark, on the production build (ui/dist) in headless Debian chromium:
//  1. the first page's size (gzip -9 of each file; the budget is 250 KB): every JS and CSS file the
//     browser fetches to show the page a login lands on (`/` → the deployments list), recorded from
//     the network (the entry, its modulepreloads, the route's lazy chunk and whatever that imports at
//     once), each listed; the login page alone (the entry) is printed too;
//  2. the time from the API's answer to a usable page (its rows in the page and the next frame
//     painted) for the deployments list with 1,000 deployments and the history with 1,000 results,
//     at the default page size and at the largest one the page offers (goal under 1 s);
//  3. the log viewer following a run that writes 10,000 lines a second for 5 s: long tasks over
//     50 ms while following (goal: none), whether every line arrived and was numbered, and whether
//     the page's header saw the run end.
// Timings are the median of BENCH_RUNS runs (5 by default), each in a fresh page. The API is a
// stand-in served here with the services' documented shapes (openapi/*.json), so that what is timed
// is the UI alone. Run: `npm run build && npm run bench` (CHROMIUM overrides /usr/bin/chromium;
// BENCH_TRACE=dir writes a chromium performance trace of each scenario's first run, for profiling;
// BENCH_ONLY=size|lists|logs runs one part, BENCH_LIST=/history?size=100 one list).
import { createServer } from "node:http";
import { mkdir, readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { extname, join } from "node:path";
import { chromium } from "playwright-core";

const dist = new URL("../dist/", import.meta.url).pathname;
const BUDGET = 250 * 1024;
const GOAL_MS = 1000;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TRACE = process.env.BENCH_TRACE;
const ONLY = process.env.BENCH_ONLY;
const part = (name) => !ONLY || ONLY === name;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const gzipOf = async (file) => gzipSync(await readFile(join(dist, file)), { level: 9 }).length;

// The stand-in API's data.
const now = Date.now();
const deployments = Array.from({ length: 1000 }, (_, i) => ({
  name: `job-${String(i).padStart(4, "0")}`, type: i % 3 ? "CronJob" : "Job", state: i % 7 ? "Active" : "Inactive",
  containerState: ["Scheduled", "Initiated", "Running", "Failed", "Stopped"][i % 5], image: "eclipse-temurin:21-jre",
  resource: `releases/com.example:etl-${i}:1.${i % 10}`, schedule: i % 3 ? ["30 2 * * 1-5", "*/15 * * * *", "0 4 1 * *"][i % 3] : null,
  timeZone: i % 3 ? "Europe/Paris" : null, lastRun: new Date(now - i * 60_000).toISOString(),
  nextRun: i % 3 && i % 7 ? new Date(now + i * 60_000).toISOString() : null, lastFailure: i % 5 === 3 ? "exited with code 1" : null,
  owner: `user${i % 20}`, deployedAt: new Date(now - i * 3_600_000).toISOString(), deployedBy: `user${i % 20}`, revision: 1 + (i % 4),
}));
const jobs = Array.from({ length: 1000 }, (_, i) => ({
  jobId: `job-${i}-${(now - i * 1000).toString(36)}`, groupId: `job-${i % 50}`, jobOwner: `user${i % 20}`, isDeleted: false,
  submissionTime: new Date(now - i * 60_000).toISOString(), endTime: new Date(now - i * 60_000 + 30_000).toISOString(),
  exitStatus: i % 9 ? "SUCCESS" : "EXECUTION_ERROR", exitCode: i % 9 ? 0 : 1, wallclockTime: 30 + (i % 100), jobType: "CronJob",
  statusHistory: [{ status: "SCHEDULED", timestamp: new Date(now - i * 60_000).toISOString() }, { status: "FINISHED", timestamp: new Date(now - i * 60_000 + 30_000).toISOString() }],
  algorithms: [{ algorithmId: "etl", algorithmName: "etl", algorithmVersion: "1.4", parameters: [{ parameterId: "GREETING", label: "GREETING", value: [`v${i}`] }] }],
}));

// The followed run's log, as the deployer serves it: `BEFORE` lines written before the viewer opens,
// then 10,000 a second for 5 s in 100 writes a second; the run ends with its last line.
const BEFORE = 2_000;
const RATE = 10_000;
const FOLLOWED = 50_000;
const log = { lines: [], finishedAt: null, timer: null, listeners: new Set() };
const logLine = (n) => `${new Date().toISOString()} line ${n} \x1b[32mINFO\x1b[0m processing record ${n * 7} of the batch`;
function resetLog() {
  clearInterval(log.timer);
  log.lines = Array.from({ length: BEFORE }, (_, i) => logLine(i + 1));
  log.finishedAt = null;
  log.timer = null;
}
/** The writing starts when the viewer first follows the log. */
function startLog() {
  if (log.timer !== null || log.finishedAt) return;
  log.timer = setInterval(() => {
    const batch = [];
    for (let i = 0; i < RATE / 100 && log.lines.length < BEFORE + FOLLOWED; i++) batch.push(logLine(log.lines.length + 1 + batch.length));
    log.lines.push(...batch);
    const ended = log.lines.length >= BEFORE + FOLLOWED;
    if (ended) {
      clearInterval(log.timer);
      log.finishedAt = new Date().toISOString();
    }
    for (const listener of log.listeners) listener(batch, ended);
  }, 10);
}
const run = () => ({
  name: "bench-1", state: log.finishedAt ? "Succeeded" : "Running", containerState: log.finishedAt ? "Stopped" : "Running", manual: false,
  startedAt: new Date(now).toISOString(), finishedAt: log.finishedAt, exitCode: log.finishedAt ? 0 : null, triggeredBy: "bench",
});

const json = (response, body, status = 200) => {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
};
const TYPES = { ".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml" };
const server = createServer(async (request, response) => {
  const url = new URL(request.url, "http://x");
  const path = url.pathname;
  const query = url.searchParams;
  if (path === "/api/auth/me") {
    if (!(request.headers.cookie ?? "").includes("bench=1")) return json(response, { code: "unauthenticated", message: "no session" }, 401);
    return json(response, { user: "bench", name: "Bench", roles: ["admin"], expires: 0 });
  }
  if (path === "/api/links") return json(response, []);
  if (path === "/api/deployments") {
    const offset = Number(query.get("offset") ?? 0);
    const limit = Number(query.get("limit") ?? 50);
    return json(response, { deployments: deployments.slice(offset, offset + limit), total: deployments.length, offset, limit });
  }
  if (path === "/api/history/selectors") return json(response, []);
  if (path === "/api/history") {
    const offset = Number(query.get("offset") ?? 0);
    const limit = Number(query.get("limit") ?? 50);
    return json(response, { jobs: jobs.slice(offset, offset + limit), total: jobs.length, offset, limit });
  }
  if (path === "/api/deployments/bench/runs") return json(response, [run()]);
  if (path === "/api/deployments/bench/logs" && query.get("follow") === "true") {
    // The last `tailLines` lines, then each line as it is written, until the container ends.
    response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    const tail = Number(query.get("tailLines") ?? 1000);
    response.write(log.lines.slice(-tail).map((line) => `${line}\n`).join(""));
    if (log.finishedAt) return response.end();
    startLog();
    const listener = (batch, ended) => {
      response.write(batch.map((line) => `${line}\n`).join(""));
      if (ended) response.end();
    };
    log.listeners.add(listener);
    response.on("close", () => log.listeners.delete(listener));
    return;
  }
  if (path === "/api/deployments/bench/logs" && query.has("lines")) {
    // Lines by number: `lines` from `fromLine`, or the last ones, with X-First-Line and X-Total-Lines.
    const count = Math.min(Number(query.get("lines")), 10_000);
    const total = log.lines.length;
    const first = query.has("fromLine") ? Number(query.get("fromLine")) : Math.max(1, total - count + 1);
    const answer = log.lines.slice(first - 1, first - 1 + count);
    response.writeHead(200, { "content-type": "text/plain; charset=utf-8", "x-first-line": String(first), "x-total-lines": String(total) });
    return response.end(answer.map((line) => `${line}\n`).join(""));
  }
  if (path.startsWith("/api/")) return json(response, { code: "not_found", message: path }, 404);
  const file = path.startsWith("/assets/") || path === "/favicon.svg" || path === "/color-scheme.js" ? path : "/index.html";
  try {
    const body = await readFile(join(dist, file));
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    response.end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const longTasks = () => {
  window.__longTasks = [];
  new PerformanceObserver((list) => list.getEntries().forEach((e) => window.__longTasks.push({ start: e.startTime, duration: e.duration }))).observe({ type: "longtask", buffered: true });
};
/** A fresh page (its own context: no cache), logged in unless told otherwise. */
async function newPage({ loggedIn = true, locale = "en-US" } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, locale });
  if (loggedIn) await context.addCookies([{ name: "bench", value: "1", url: base }]);
  const page = await context.newPage();
  await page.addInitScript(longTasks);
  return page;
}
async function traced(name, first, body) {
  if (!TRACE || !first) return body();
  await mkdir(TRACE, { recursive: true });
  await browser.startTracing(undefined, { path: join(TRACE, `${name}.json`), screenshots: false, categories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "disabled-by-default-v8.cpu_profiler", "blink.user_timing"] });
  try {
    return await body();
  } finally {
    await browser.stopTracing();
  }
}

// 1. The first page's size: the JS and CSS the browser fetched, until the list is shown and the
// network has been idle.
async function fetched(path, ready, loggedIn, locale) {
  const page = await newPage({ loggedIn, locale });
  const files = new Set();
  page.on("response", (response) => {
    const { pathname } = new URL(response.url());
    if (/\.(js|css)$/.test(pathname) && pathname.startsWith("/assets/")) files.add(pathname.slice(1));
  });
  await page.goto(`${base}${path}`);
  await page.waitForSelector(ready, { timeout: 30_000 });
  await page.waitForLoadState("networkidle");
  await page.waitForTimeout(500);
  await page.context().close();
  const parts = [];
  for (const file of files) parts.push({ file, gzip: await gzipOf(file) });
  parts.sort((a, b) => b.gzip - a.gzip);
  const js = parts.filter((p) => p.file.endsWith(".js")).reduce((sum, p) => sum + p.gzip, 0);
  const css = parts.filter((p) => p.file.endsWith(".css")).reduce((sum, p) => sum + p.gzip, 0);
  return { parts, js, css, total: js + css };
}
if (part("size")) {
  const login = await fetched("/", "input[type=password]", false);
  console.log(`bundle (gzip -9): the login page: JS ${kb(login.js)} + CSS ${kb(login.css)} = ${kb(login.total)} (${login.parts.map((p) => p.file).join(", ")})`);
  const landing = await fetched("/", "tbody tr", true);
  console.log(`bundle (gzip -9): the first page after login (/ → /deployments), as fetched: JS ${kb(landing.js)} + CSS ${kb(landing.css)} = ${kb(landing.total)}; budget ${kb(BUDGET)}: ${landing.total <= BUDGET ? "met" : "OVER"}`);
  for (const part of landing.parts) console.log(`  ${kb(part.gzip).padStart(9)}  ${part.file}`);
  const french = await fetched("/", "tbody tr", true, "fr-FR");
  console.log(`bundle (gzip -9): the same in French (its words loaded too): ${kb(french.total)}; budget ${kb(BUDGET)}: ${french.total <= BUDGET ? "met" : "OVER"}`);
  // The same from the build's import graph, as a cross-check: the entry, the route's chunk and
  // their static imports (a difference means a lazy import ran at once).
  const manifest = JSON.parse(await readFile(join(dist, ".vite/manifest.json"), "utf8"));
  const graph = new Set();
  const walk = (key) => {
    if (graph.has(key)) return;
    graph.add(key);
    (manifest[key].imports ?? []).forEach(walk);
  };
  ["index.html", "src/pages/DeploymentsPage.tsx"].forEach(walk);
  const graphFiles = new Set([...graph].flatMap((key) => [manifest[key].file, ...(manifest[key].css ?? [])]));
  const extra = landing.parts.filter((p) => !graphFiles.has(p.file)).map((p) => p.file);
  const unused = [...graphFiles].filter((file) => !landing.parts.some((p) => p.file === file));
  console.log(`  import graph: ${graphFiles.size} files; fetched beyond it (lazy at once): ${extra.join(", ") || "none"}; in it but not fetched: ${unused.join(", ") || "none"}`);
}

// 2. From the API's answer to a usable page: the last answer's end (resource timing) to the moment
// the rows are in the page and the next frame has been painted.
async function usable(path, api, rows) {
  const page = await newPage();
  await page.goto(`${base}${path}`);
  await page.waitForFunction((n) => document.querySelectorAll("tbody tr").length >= n, rows, { timeout: 30_000 });
  const result = await page.evaluate(async (api) => {
    const shown = performance.now();
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    const answers = performance.getEntriesByType("resource").filter((e) => new URL(e.name).pathname === api);
    const answered = Math.max(...answers.map((e) => e.responseEnd));
    return { rows: shown - answered, painted: performance.now() - answered, longTasks: window.__longTasks.filter((t) => t.start >= answered && t.duration > 50).length };
  }, api);
  await page.context().close();
  return result;
}
async function list(what, path, api, rows) {
  if (process.env.BENCH_LIST && !path.startsWith(process.env.BENCH_LIST)) return;
  const results = [];
  for (let i = 0; i < RUNS; i++) results.push(await traced(what.replace(/\W+/g, "-"), i === 0, () => usable(path, api, rows)));
  const painted = results.map((r) => r.painted);
  const ms = median(painted);
  console.log(`${what}: usable ${ms.toFixed(0)} ms after the API's answer (median of ${RUNS}: ${painted.map((v) => v.toFixed(0)).join(", ")}; rows in ${median(results.map((r) => r.rows)).toFixed(0)} ms); long tasks > 50 ms after the answer: ${median(results.map((r) => r.longTasks))}; goal < ${GOAL_MS} ms: ${ms < GOAL_MS ? "met" : "NOT met"}`);
}
if (part("lists")) {
  await list("deployments, 1,000, default page (50 rows)", "/deployments", "/api/deployments", 50);
  await list("deployments, 1,000, largest page (100 rows)", "/deployments?size=100", "/api/deployments", 100);
  await list("history, 1,000 results, default page (50 rows)", "/history", "/api/history", 50);
  await list("history, 1,000 results, largest page (100 rows)", "/history?size=100", "/api/history", 100);
}

// 3. The log viewer following 10,000 lines a second: long tasks counted from the moment the
// follow request is answered (the page's own start is printed apart).
async function follow() {
  resetLog();
  const page = await newPage();
  await page.goto(`${base}/deployments/bench/logs?run=bench-1`);
  await page.waitForSelector("[data-testid=log-pane]");
  const started = Date.now();
  const total = BEFORE + FOLLOWED;
  await page.waitForFunction((n) => Number(document.querySelector("[data-testid=log-pane]")?.getAttribute("data-lines")) >= n, total, { timeout: 60_000 });
  const took = (Date.now() - started) / 1000;
  // The last line on screen once all came (did the pane follow to the very end?), after two frames.
  const lastShown = () =>
    page.evaluate(async () => {
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      const last = [...document.querySelectorAll(".jo-log-line")].at(-1);
      return { text: /line (\d+)/.exec(last?.textContent ?? "")?.[1] ?? "?", number: last?.getAttribute("data-line") ?? "none" };
    });
  const atEnd = await lastShown();
  // The run's end, as the page's header says it (the runs are read again when the stream ends).
  const ended = await page
    .waitForFunction(() => /Succeeded/.test(document.querySelector("h2")?.parentElement?.textContent ?? ""), null, { timeout: 3_000 })
    .then(() => (Date.now() - started) / 1000 - took)
    .catch(() => null);
  // The ended run's log, read again by number: its last line on screen, numbered.
  await page.waitForFunction((n) => document.querySelector(`.jo-log-line[data-line="${n}"]`), total, { timeout: 10_000 }).catch(() => null);
  const afterEnd = await lastShown();
  const result = await page.evaluate(() => {
    const follow = performance.getEntriesByType("resource").find((e) => e.name.includes("follow=true"));
    const since = follow?.responseStart ?? 0;
    const tasks = window.__longTasks.filter((t) => t.duration > 50);
    return {
      following: tasks.filter((t) => t.start >= since).map((t) => t.duration),
      loading: tasks.filter((t) => t.start < since).map((t) => t.duration),
    };
  });
  await page.context().close();
  return { ...result, took, ended, atEnd, afterEnd };
}
if (part("logs")) {
  const follows = [];
  for (let i = 0; i < RUNS; i++) follows.push(await traced("log-viewer", i === 0, follow));
  const counts = follows.map((f) => f.following.length);
  const longest = Math.max(0, ...follows.flatMap((f) => f.following));
  const last = follows.at(-1);
  console.log(
    `log viewer, 10,000 lines/s for 5 s (after ${BEFORE.toLocaleString("en")} lines): long tasks > 50 ms while following: median ${median(counts)} (runs: ${counts.join(", ")}${longest ? `; longest ${longest.toFixed(0)} ms` : ""}); goal none: ${counts.every((c) => c === 0) ? "met" : "NOT met"}`,
  );
  console.log(
    `  every line in the viewer after ${median(follows.map((f) => f.took)).toFixed(1)} s (median); the last line on screen then: "line ${last.atEnd.text}" (of ${BEFORE + FOLLOWED}); the header said the run ended ${last.ended === null ? "NOT within 3 s" : `${last.ended.toFixed(1)} s after the last line`}; then the last line on screen: "line ${last.afterEnd.text}" numbered ${last.afterEnd.number}; long tasks while the page loaded: ${median(follows.map((f) => f.loading.length))}`,
  );
}
await browser.close();
server.close();
