import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { server } from "../../test/server";
import { renderPage } from "../../test/render";
import { CronEditor, localRuns, type ScheduleValue } from "./CronEditor";

function Editor({ initial }: { initial: ScheduleValue }) {
  const [value, setValue] = useState(initial);
  return (
    <>
      <CronEditor value={value} onChange={setValue} />
      <output data-testid="value">{JSON.stringify(value)}</output>
    </>
  );
}

// The deployer's preview, or (null) a deployer that cannot be reached: the browser's own reading then.
const previewWith = (times: string[] | null) =>
  server.use(http.get("*/api/schedules/preview", () => (times ? HttpResponse.json({ times }) : HttpResponse.json({ code: "upstream_unavailable", message: "the deployer cannot be reached" }, { status: 502 }))));

describe("the cron editor", () => {
  it("fills the cron from a preset and says it in words", async () => {
    previewWith(null);
    renderPage(<Editor initial={{ cron: "0 2 * * *", timeZone: "Europe/Paris" }} />);
    expect(await screen.findByTestId("cron-words")).toHaveTextContent("At 02:00 (Europe/Paris)");
    await userEvent.click(screen.getAllByLabelText("Preset")[0]!);
    await userEvent.click(await screen.findByRole("option", { name: /Weekdays at 06:30/, hidden: true }));
    expect(screen.getByTestId("value")).toHaveTextContent('"cron":"30 6 * * 1-5"');
    expect(screen.getByTestId("cron-words")).toHaveTextContent("06:30, Monday through Friday");
  });

  it("lists the next 5 runs in the schedule's zone and the viewer's", async () => {
    previewWith(null);
    renderPage(<Editor initial={{ cron: "0 2 * * *", timeZone: "Europe/Paris" }} />);
    const table = await screen.findByTestId("cron-next-runs");
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(5);
    // 02:00 in Paris is 22:00 (winter) or 21:00 (summer) the day before in São Paulo.
    for (const row of rows) {
      const [, paris, saoPaulo] = within(row).getAllByRole("cell").map((c) => c.textContent ?? "");
      expect(paris).toMatch(/ 02:00:00 /);
      expect(saoPaulo).toMatch(/ (21|22):00:00 /);
    }
    expect(await screen.findByText(/Computed by your browser/)).toBeInTheDocument();
  });

  it("shows the deployer's times and says so when they disagree with the browser's", async () => {
    const browser = localRuns("0 2 * * *", "Europe/Paris", 5).times;
    // The deployer reads the schedule an hour later (as a server with other zone data would).
    previewWith(browser.map((d) => new Date(d.getTime() + 3_600_000).toISOString()));
    renderPage(<Editor initial={{ cron: "0 2 * * *", timeZone: "Europe/Paris" }} />);
    expect(await screen.findByTestId("cron-disagree")).toBeInTheDocument();
    const first = within(screen.getByTestId("cron-next-runs")).getAllByRole("row")[1]!;
    expect(within(first).getAllByRole("cell")[1]).toHaveTextContent(/ 03:00:00 /);
    expect(screen.queryByText(/Computed by your browser/)).not.toBeInTheDocument();
  });

  it("agrees silently when the deployer's times are the browser's", async () => {
    previewWith(localRuns("*/20 * * * * *", "Europe/Paris", 5).times.map((d) => d.toISOString()));
    renderPage(<Editor initial={{ cron: "*/20 * * * * *", timeZone: "Europe/Paris" }} />);
    await screen.findByTestId("cron-next-runs");
    await waitFor(() => expect(screen.queryByText(/Computed by your browser/)).not.toBeInTheDocument());
    expect(screen.queryByTestId("cron-disagree")).not.toBeInTheDocument();
  });

  it("shows a schedule it cannot read at the field, and the deployer's refusal too", async () => {
    previewWith(null);
    renderPage(<Editor initial={{ cron: "every day", timeZone: "UTC" }} />);
    expect(await screen.findByText(/five, six, or seven/)).toBeInTheDocument();
    server.use(http.get("*/api/schedules/preview", () => HttpResponse.json({ code: "invalid_schedule", message: "'Mars/Olympus' is not an IANA time zone", field: "timeZone" }, { status: 400 })));
    renderPage(<Editor initial={{ cron: "0 2 * * *", timeZone: "Mars/Olympus" }} />);
    expect(await screen.findByText("'Mars/Olympus' is not an IANA time zone")).toBeInTheDocument();
  });
});
