import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, type TestInfo } from "@playwright/test";

export const ADMIN = { user: process.env.JO_USER ?? "dev", password: process.env.JO_PASSWORD ?? "dev" };
export const VIEWER = { user: process.env.JO_VIEWER_USER ?? "viewer", password: process.env.JO_VIEWER_PASSWORD ?? "viewer" };

/** Screenshots go to e2e-artifacts/<project>/, kept by the test command as artifacts. */
export async function shoot(page: Page, info: TestInfo, name: string) {
  await page.screenshot({ path: `e2e-artifacts/${info.project.name}/${name}.png`, fullPage: false });
}

/** An axe scan of the page: no serious or critical violation. */
export async function accessible(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")} ${n.failureSummary?.split("\n")[1] ?? ""}`).join(" | ")}`), `axe on ${what}`).toEqual([]);
}

/** Fails the test on any Content-Security-Policy refusal or uncaught error in the page. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return problems;
}

export async function login(page: Page, who: { user: string; password: string }) {
  await page.getByLabel("User name").fill(who.user);
  await page.getByRole("textbox", { name: "Password" }).fill(who.password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/**
 * Deletes the deployments an earlier walk of this project left behind (it stopped half-way): their
 * runs every 20 s would only load the stack. Through the API, as the logged-in user.
 */
export async function removeLeftovers(page: Page, prefix: string) {
  const listed = await page.request.get("/api/deployments?limit=500");
  expect(listed.status()).toBe(200);
  const { deployments } = (await listed.json()) as { deployments: { name: string }[] };
  for (const { name } of deployments.filter((d) => d.name.startsWith(prefix))) {
    const deleted = await page.request.delete(`/api/deployments/${encodeURIComponent(name)}`);
    expect([204, 404], `deleting ${name}`).toContain(deleted.status());
  }
}
