// The web UI's benchmark, on the production build (ui/dist) in headless Debian chromium:
//  1. the size of the first page (gzip): the entry's JS and CSS and what it imports at once, and
//     with the deployments page (where a login lands) added; budget 250 KB;
//  2. the time from the API's answer to a usable page for 1,000 deployments and for 1,000
//     history results (goal under 1 s);
//  3. the log viewer following a run that writes 10,000 lines a second for 5 s: long tasks over
//     50 ms counted (goal: none), and the lines on screen at the end.
// The API is a stand-in served here with the services' documented shapes, so that what is timed
// is the UI alone. Run: `npm run build && npm run bench` (CHROMIUM overrides /usr/bin/chromium).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { extname, join } from "node:path";
import { chromium } from "playwright-core";

const dist = new URL("../dist/", import.meta.url).pathname;
const BUDGET = 250 * 1024;

// 1. Sizes, from Vite's manifest (the import graph of the build).
const manifest = JSON.parse(await readFile(join(dist, ".vite/manifest.json"), "utf8"));
const gzipOf = async (file) => gzipSync(await readFile(join(dist, file)), { level: 9 }).length;
function closure(keys, seen = new Set()) {
  for (const key of keys) {
    if (seen.has(key)) continue;
    seen.add(key);
    closure(manifest[key].imports ?? [], seen);
  }
  return seen;
}
async function size(keys) {
  let js = 0;
  let css = 0;
  for (const key of closure(keys)) {
    js += await gzipOf(manifest[key].file);
    for (const file of manifest[key].css ?? []) css += await gzipOf(file);
  }
  return { js, css, total: js + css };
}
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const entry = await size(["index.html"]);
const landing = await size(["index.html", "src/pages/DeploymentsPage.tsx"]);
console.log(`bundle (gzip): entry JS ${kb(entry.js)} + CSS ${kb(entry.css)} = ${kb(entry.total)} (login page)`);
console.log(`bundle (gzip): with the deployments page ${kb(landing.js)} + ${kb(landing.css)} = ${kb(landing.total)}; budget ${kb(BUDGET)}: ${landing.total <= BUDGET ? "within" : "OVER"}`);

// The stand-in API and the build, on a free port of 127.0.0.1.
const now = Date.now();
const deployments = Array.from({ length: 1000 }, (_, i) => ({
  name: `job-${String(i).padStart(4, "0")}`, type: i % 3 ? "CronJob" : "Job", state: i % 7 ? "Active" : "Inactive",
  containerState: ["Scheduled", "Initiated", "Running", "Failed", "Stopped"][i % 5], image: "eclipse-temurin:21-jre",
  resource: `releases/com.example:etl-${i}:1.${i % 10}`, schedule: i % 3 ? "30 2 * * 1-5" : null, timeZone: i % 3 ? "Europe/Paris" : null,
  lastRun: new Date(now - i * 60_000).toISOString(), nextRun: i % 3 ? new Date(now + i * 60_000).toISOString() : null,
  owner: `user${i % 20}`, deployedAt: new Date(now - i * 3_600_000).toISOString(), deployedBy: `user${i % 20}`, revision: 1 + (i % 4),
}));
const jobs = Array.from({ length: 1000 }, (_, i) => ({
  jobId: `job-${i}-${(now - i * 1000).toString(36)}`, groupId: `job-${i % 50}`, jobOwner: `user${i % 20}`, isDeleted: false,
  submissionTime: new Date(now - i * 60_000).toISOString(), endTime: new Date(now - i * 60_000 + 30_000).toISOString(),
  exitStatus: i % 9 ? "SUCCESS" : "EXECUTION_ERROR", exitCode: i % 9 ? 0 : 1, wallclockTime: 30 + (i % 100), jobType: "CronJob",
  statusHistory: [{ status: "SCHEDULED", timestamp: new Date(now - i * 60_000).toISOString() }, { status: "FINISHED", timestamp: new Date(now - i * 60_000 + 30_000).toISOString() }],
  algorithms: [{ algorithmId: "etl", algorithmName: "etl", algorithmVersion: "1.4", parameters: [{ parameterId: "GREETING", label: "GREETING", value: [`v${i}`] }] }],
}));
const json = (response, body, status = 200) => {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
};
const TYPES = { ".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml" };
const server = createServer(async (request, response) => {
  const url = new URL(request.url, "http://x");
  const path = url.pathname;
  if (path === "/api/auth/me") return json(response, { user: "bench", name: "Bench", roles: ["admin"], expires: 0 });
  if (path === "/api/links") return json(response, []);
  if (path === "/api/deployments") {
    const offset = Number(url.searchParams.get("offset") ?? 0);
    const limit = Number(url.searchParams.get("limit") ?? 50);
    return json(response, { deployments: deployments.slice(offset, offset + limit), total: deployments.length, offset, limit });
  }
  if (path === "/api/history") return json(response, { jobs: jobs.slice(0, Number(url.searchParams.get("limit") ?? 50)), total: 1000, offset: 0, limit: 1000 });
  if (path === "/api/deployments/bench/runs") return json(response, [{ name: "bench-1", state: "Running", containerState: "Running", manual: false, startedAt: new Date().toISOString() }]);
  if (path === "/api/deployments/bench/logs") {
    response.writeHead(200, { "content-type": "text/plain" });
    if (url.searchParams.get("follow") !== "true") return response.end("");
    // 10,000 lines a second for 5 s, in 100 writes a second.
    let sent = 0;
    const timer = setInterval(() => {
      let chunk = "";
      for (let i = 0; i < 100; i++) chunk += `${new Date().toISOString()} line ${++sent} \x1b[32mINFO\x1b[0m processing record ${sent * 7} of the batch\n`;
      response.write(chunk);
      if (sent >= 50_000) {
        clearInterval(timer);
        response.end();
      }
    }, 10);
    request.on("close", () => clearInterval(timer));
    return;
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
  new PerformanceObserver((list) => list.getEntries().forEach((e) => window.__longTasks.push(e.duration))).observe({ type: "longtask", buffered: true });
};

// 2. From the API's answer to a usable page: the answer's end (resource timing) to the moment the
// rows are in the page and the next frame has been painted.
async function usable(path, api, rows) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await page.addInitScript(longTasks);
  await page.goto(`${base}${path}`);
  await page.waitForFunction((n) => document.querySelectorAll("tbody tr").length >= n, rows, { timeout: 30_000 });
  const result = await page.evaluate(async (api) => {
    const shown = performance.now();
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    const answers = performance.getEntriesByType("resource").filter((e) => e.name.includes(api));
    const answered = Math.max(...answers.map((e) => e.responseEnd));
    return { ms: shown - answered, painted: performance.now() - answered, longTasks: window.__longTasks.filter((d) => d > 50).length };
  }, api);
  await page.close();
  return result;
}
const list = await usable("/deployments?size=200", "/api/deployments", 200);
console.log(`deployments, 1,000 (200 a page): usable ${list.painted.toFixed(0)} ms after the API's answer (rows in ${list.ms.toFixed(0)} ms); long tasks > 50 ms: ${list.longTasks}`);
const history = await usable("/history?size=1000", "/api/history", 1000);
console.log(`history, 1,000 results on one page: usable ${history.painted.toFixed(0)} ms after the API's answer (rows in ${history.ms.toFixed(0)} ms); long tasks > 50 ms: ${history.longTasks}`);

// 3. The log viewer following 10,000 lines a second.
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
await page.addInitScript(longTasks);
await page.goto(`${base}/deployments/bench/logs?run=bench-1`);
await page.waitForSelector("[data-testid=log-pane]");
const started = Date.now();
await page.waitForFunction(() => Number(document.querySelector("[data-testid=log-pane]")?.getAttribute("data-lines")) >= 50_000, null, { timeout: 60_000 });
const took = (Date.now() - started) / 1000;
const logs = await page.evaluate(() => ({
  long: window.__longTasks.filter((d) => d > 50),
  last: [...document.querySelectorAll(".jo-log-line")].at(-1)?.textContent ?? "",
}));
console.log(`log viewer, 10,000 lines/s for 5 s: all 50,000 lines in the viewer after ${took.toFixed(1)} s; long tasks > 50 ms: ${logs.long.length}${logs.long.length ? ` (longest ${Math.max(...logs.long).toFixed(0)} ms)` : ""}; last line on screen: ${/line (\d+)/.exec(logs.last)?.[1] ?? "?"}`);
await browser.close();
server.close();
