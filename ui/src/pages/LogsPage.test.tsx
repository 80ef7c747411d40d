import { screen, waitFor } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import type { Deployer } from "../api/client";
import { renderPage } from "../test/render";
import { server } from "../test/server";
import LogsPage from "./LogsPage";

describe("the logs page", () => {
  it("says the run ended as soon as its followed log ends, without waiting for the runs' refresh", async () => {
    let ended = false;
    let closeLog = () => {};
    const run = (): Deployer["Run"] => ({
      name: "etl-1",
      state: ended ? "Succeeded" : "Running",
      containerState: ended ? "Stopped" : "Running",
      manual: false,
      startedAt: "2025-03-01T10:00:00Z",
      finishedAt: ended ? "2025-03-01T10:01:00Z" : null,
      exitCode: ended ? 0 : null,
    });
    server.use(
      http.get("*/api/deployments/etl/runs", () => HttpResponse.json([run()])),
      http.get("*/api/deployments/etl/logs", ({ request }) => {
        const query = new URL(request.url).searchParams;
        if (query.get("follow") !== "true") {
          // The numbered reads (placing the followed lines, then the ended run's tail).
          return new HttpResponse("last line\n", { headers: { "content-type": "text/plain; charset=utf-8", "X-First-Line": "1", "X-Total-Lines": "1" } });
        }
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("last line\n"));
            closeLog = () => {
              ended = true;
              controller.close();
            };
          },
        });
        return new HttpResponse(stream, { headers: { "content-type": "text/plain; charset=utf-8" } });
      }),
    );
    renderPage(<LogsPage />, { path: "/deployments/etl/logs", route: "/deployments/:name/logs" });
    expect(await screen.findByText("last line")).toBeInTheDocument();
    const header = screen.getByRole("heading", { level: 2 }).parentElement!;
    expect(header).toHaveTextContent("Running");
    const picker = screen.getByRole("combobox", { name: "Run" }) as HTMLInputElement;
    expect(picker.value).toContain("Running");

    const closedAt = Date.now();
    closeLog();
    // The runs are read again every 5 s; the end of the log reads them at once.
    await waitFor(() => expect(header).toHaveTextContent("Succeeded"), { timeout: 2_000 });
    expect(Date.now() - closedAt).toBeLessThan(2_000);
    expect(header).not.toHaveTextContent("Running");
    await waitFor(() => expect(picker.value).toContain("Succeeded"));
  });
});
