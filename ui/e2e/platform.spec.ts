// The whole path of a data engineer, in a real browser against the real dev stack: login,
// catalog, configure and deploy the sample job on a schedule, watch it run and follow its log,
// suspend and resume, run now with an override, find its runs in the history, roll back, delete.
// Then a viewer, who is offered no change, and whom the API refuses when forced.
import { expect, test } from "@playwright/test";
import { accessible, ADMIN, login, removeLeftovers, shoot, VIEWER, watchConsole } from "./helpers";

test.describe.configure({ mode: "serial" });

test("a data engineer deploys, watches, changes and deletes the sample job", async ({ page }, info) => {
  // The whole path waits for a scheduled run, a run's log and the history (about 2 minutes on a
  // busy 2-core machine); every step keeps its own expectation timeout.
  test.setTimeout(300_000);
  const problems = watchConsole(page);
  const prefix = `ui-${info.project.name}-`;
  const name = `${prefix}${Date.now().toString(36)}`;

  // Login: a deep link goes through the login page and comes back; a wrong password is said so.
  await page.goto("/deployments?sort=name");
  await expect(page).toHaveURL(/\/login\?next=/);
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
  await accessible(page, "login");
  await shoot(page, info, "01-login");
  await login(page, { user: ADMIN.user, password: "not-the-password" });
  await expect(page.getByTestId("login-error")).toContainText("Wrong user name or password");
  await login(page, ADMIN);
  await expect(page).toHaveURL(/\/deployments\?sort=name$/);
  await removeLeftovers(page, prefix);

  // Catalog: the sample job, its versions newest first, a version's files with checksums.
  await page.getByRole("link", { name: "Catalog" }).click();
  await expect(page.getByRole("link", { name: "hello", exact: true })).toBeVisible();
  await accessible(page, "catalog");
  await shoot(page, info, "02-catalog");
  await page.getByRole("link", { name: "hello", exact: true }).click();
  const versions = page.getByRole("navigation", { name: "Versions" });
  await expect(versions.getByRole("link").first()).toContainText("1.1");
  await expect(versions.getByRole("link").nth(1)).toContainText("1.0");
  await expect(page.getByText("hello-1.1.zip").first()).toBeVisible();
  await expect(page.getByText(/sha256: [0-9a-f]{64}/).first()).toBeVisible();
  await accessible(page, "artifact");
  await shoot(page, info, "03-artifact");
  await page.getByRole("link", { name: "Deploy this version" }).click();

  // Configure: a bad name and a bad cron, refused by the deployer's check at their fields.
  await expect(page.getByRole("heading", { name: "Configure and deploy" })).toBeVisible();
  const nameInput = page.getByLabel("Deployment name");
  await expect(nameInput).toHaveValue("hello");
  await nameInput.fill("Bad_Name");
  await expect(nameInput).toHaveAccessibleDescription(/Only lower-case letters, digits and '-'/);
  await page.getByRole("combobox", { name: "Runner image" }).fill("busybox:1.37");
  await page.keyboard.press("Escape");
  await page.getByLabel("Command").fill("sh\n$(JOB_RESOURCE_DIR)/hello/run.sh");
  await page.getByRole("button", { name: "Add a variable" }).click();
  await page.getByLabel("Name of variable 1").fill("GREETING");
  await page.getByLabel("Value of variable 1").fill("data team");
  await page.getByLabel("Retries of a failed run").fill("0");
  await page.getByText("On a schedule (CronJob)").click();
  const cron = page.getByLabel("Cron", { exact: true });
  await cron.fill("every 20 seconds");
  await page.getByRole("button", { name: "Check" }).click();
  await expect(nameInput).toHaveAccessibleDescription(/must be lower-case letters, digits and '-'/);
  await expect(cron).toHaveAccessibleDescription(/'every 20 seconds' has 3 fields/);
  await nameInput.fill(name);
  await cron.fill("*/20 * * * * *");
  await page.getByRole("combobox", { name: "Time zone of the schedule" }).fill("Europe/Paris");
  await page.getByRole("option", { name: "Europe/Paris" }).click();
  await expect(page.getByTestId("cron-words")).toContainText("20 seconds");
  const nextRuns = page.getByTestId("cron-next-runs");
  await expect(nextRuns.locator("tbody tr")).toHaveCount(5);
  await expect(nextRuns).toContainText("In Europe/Paris");
  await expect(nextRuns).toContainText("For you (America/Sao_Paulo)");
  await page.getByRole("button", { name: "Check" }).click();
  await expect(page.getByText("No problem found")).toBeVisible();
  await expect(page.getByTestId("dry-run-yaml")).toContainText(/cron: "?\*\/20 \* \* \* \* \*/);
  await accessible(page, "deploy form");
  await shoot(page, info, "04-deploy-form");
  await page.getByRole("button", { name: "Deploy", exact: true }).click();

  // The deployment: Active, a next run counting down, then its first run.
  await expect(page).toHaveURL(new RegExp(`/deployments/${name}$`));
  await expect(page.getByText("Active").first()).toBeVisible();
  await expect(page.getByTestId("next-run")).toContainText(/in \d+ s|due now/);
  await page.getByRole("tab", { name: "Runs" }).click();
  await expect(page.getByRole("link", { name: new RegExp(`^${name}-`) }).first()).toBeVisible({ timeout: 60_000 });
  await accessible(page, "deployment");
  await shoot(page, info, "05-deployment");

  // The list: the new deployment with its schedule in words and its zone.
  await page.getByRole("link", { name: "Deployments" }).click();
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) });
  await expect(row).toContainText("Europe/Paris");
  await expect(row).toContainText("Active");
  await accessible(page, "deployments");
  await shoot(page, info, "06-deployments");

  // Run now with an override, and follow that run's log live.
  await row.getByRole("button", { name: `Actions on ${name}` }).click();
  await page.getByRole("menuitem", { name: "Run now" }).click();
  await page.getByLabel("Variables for this run only").fill("GREETING=from-the-ui");
  await page.getByRole("dialog").getByRole("button", { name: "Run now" }).click();
  await expect(page.getByText(`A run of ${name} was started`)).toBeVisible();
  await page.goto(`/deployments/${name}/logs`);
  await expect(page.getByTestId("log-pane")).toContainText("hello", { timeout: 30_000 });
  await expect(page.getByTestId("log-source")).toHaveText(/Live|Finished run|Archived/);
  await expect(page.getByTestId("log-pane")).toContainText("exiting with 0", { timeout: 30_000 });
  await accessible(page, "logs");
  await shoot(page, info, "07-logs");
  // Search on the server: the greeting line is found and marked.
  await page.getByLabel("Search the log").fill("step 2");
  await page.getByLabel("Search the log").press("Enter");
  await expect(page.getByTestId("log-match-count")).toHaveText(/1 of \d+/);
  await expect(page.locator("mark.jo-hit").first()).toHaveText("step 2");

  // Suspend with a reason, then resume.
  await page.goto(`/deployments/${name}`);
  await page.getByRole("button", { name: "Suspend" }).click();
  await page.getByLabel("Reason").fill("maintenance of the share");
  await page.getByRole("dialog").getByRole("button", { name: "Suspend" }).click();
  await expect(page.getByTestId("suspended")).toContainText("maintenance of the share");
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(page.getByTestId("suspended")).toBeHidden();

  // The history: its runs by groupId, and by a parameter.
  await page.getByRole("tab", { name: "History" }).click();
  await page.getByRole("link", { name: "Open its history" }).click();
  await expect(page).toHaveURL(/\/history\?q=groupId/);
  await expect(page.getByRole("link", { name: new RegExp(`^${name}-`) }).first()).toBeVisible({ timeout: 60_000 });
  await accessible(page, "history");
  await shoot(page, info, "08-history");
  const byParameter = `groupId=="${name}";(paramValue=="from-the-ui")`;
  await page.getByTestId("rsql-text").fill(byParameter);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByText("1 runs match")).toBeVisible({ timeout: 30_000 });
  await page.getByRole("link", { name: new RegExp(`^${name}-`) }).first().click();
  await expect(page.getByText("from-the-ui").first()).toBeVisible();
  await accessible(page, "history job");
  await shoot(page, info, "09-history-job");

  // A change, then a rollback to the first revision.
  await page.goto(`/deployments/${name}/edit`);
  await page.getByLabel("Description").fill("changed from the browser");
  await page.getByRole("button", { name: "Save the change" }).click();
  await expect(page).toHaveURL(new RegExp(`/deployments/${name}$`));
  await page.getByRole("tab", { name: "Revisions" }).click();
  // The ticks live in the URL: a router navigation, done after the click returns, so the boxes are
  // clicked and then awaited ticked (check() wants the box ticked within the click).
  for (const revision of [1, 2]) {
    await page.getByRole("checkbox", { name: `Compare revision ${revision}` }).click();
    await expect(page.getByRole("checkbox", { name: `Compare revision ${revision}` })).toBeChecked();
  }
  await expect(page.getByTestId("revision-diff")).toContainText("changed from the browser");
  await accessible(page, "revisions");
  await shoot(page, info, "10-revisions");
  await page.getByRole("button", { name: "Roll back to 1" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Roll back" }).click();
  await expect(page.getByText("Rolled back to revision 1")).toBeVisible();

  // Delete, confirmed by typing the name.
  await page.getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("button", { name: "Delete" })).toBeDisabled();
  await dialog.getByLabel(`Type ${name} to confirm`).fill(name);
  await dialog.getByRole("button", { name: "Delete" }).click();
  await expect(page).toHaveURL(/\/deployments$/);
  await expect(page.getByRole("link", { name, exact: true })).toHaveCount(0);
  expect(problems).toEqual([]);
});

test("a viewer is offered nothing they may not do, and the API refuses it when forced", async ({ page }, info) => {
  const problems = watchConsole(page);
  await page.goto("/login");
  await login(page, VIEWER);
  await expect(page).toHaveURL(/\/deployments/);
  await expect(page.getByRole("link", { name: "New deployment" })).toHaveCount(0);
  await expect(page.getByRole("checkbox")).toHaveCount(0);
  const first = page.getByRole("row").nth(1);
  const actions = first.getByRole("button", { name: /^Actions on / });
  if (await actions.count()) {
    await actions.click();
    await expect(page.getByRole("menuitem", { name: "Logs" })).toBeVisible();
    for (const forbidden of ["Run now", "Suspend", "Resume", "Change", "Delete"]) {
      await expect(page.getByRole("menuitem", { name: forbidden })).toHaveCount(0);
    }
    await page.keyboard.press("Escape");
    const name = (await first.getByRole("link").first().textContent()) ?? "";
    await page.goto(`/deployments/${name}`);
    for (const forbidden of ["Run now", "Suspend", "Resume", "Change", "Delete"]) {
      await expect(page.getByRole("button", { name: forbidden, exact: true })).toHaveCount(0);
    }
    const forced = await page.request.post(`/api/deployments/${name}/suspend`, { data: { reason: "forced" } });
    expect(forced.status()).toBe(403);
    expect((await forced.json()).code).toBe("forbidden");
  }
  await shoot(page, info, "11-viewer");
  await page.goto("/deploy?repository=samples&group=org.example&name=hello&version=1.1");
  await expect(page.getByText("Your role may read deployments but not create or change them.")).toBeVisible();
  const created = await page.request.post("/api/deployments", { data: {} });
  expect(created.status()).toBe(403);
  await page.goto("/history");
  // The results shown (or their absence said) before anything is checked: a page still loading has
  // neither its rows nor their buttons yet.
  await expect(page.getByText(/runs match|No run matches/).first()).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("button", { name: /^Delete / })).toHaveCount(0);
  await accessible(page, "history as a viewer");
  expect(problems).toEqual([]);
});

test("the lists stay usable at 390 px and no page is blank when the platform is unreachable", async ({ page, context }, info) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/login");
  await login(page, ADMIN);
  await expect(page.getByRole("heading", { name: "Deployments" })).toBeVisible();
  await page.getByRole("button", { name: "Menu" }).click();
  await expect(page.getByRole("link", { name: "History" })).toBeVisible();
  await shoot(page, info, "12-narrow");
  await page.goto("/history");
  // Offline once the page is there (its code loaded): then its searches cannot reach the platform.
  await expect(page.getByRole("heading", { name: "History" })).toBeVisible();
  await context.setOffline(true);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByTestId("rsql-text").fill("priority==1");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByText("The platform cannot be reached")).toBeVisible({ timeout: 30_000 });
  await shoot(page, info, "13-unreachable");
  await context.setOffline(false);
  await page.getByRole("button", { name: "Retry" }).click();
  await expect(page.getByText("The platform cannot be reached")).toBeHidden({ timeout: 30_000 });
});
