import { act, render, screen, waitFor } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { renderPage } from "../../test/render";
import { server } from "../../test/server";
import { AnsiLine } from "./ansi";
import { LineSplitter } from "./buffer";
import { LogViewer, type LogSource } from "./LogViewer";

const live: LogSource = { kind: "live", url: "/api/deployments/etl/logs", params: { run: "etl-1", container: "runner" }, running: true };
const finished: LogSource = { ...live, running: false };
const archived: LogSource = { kind: "archived", url: "/api/history/etl-1/logs", params: { container: "runner" }, running: false };

describe("the log viewer", () => {
  it("shows ANSI colours as classes that follow the colour scheme, and marks matches", () => {
    const { container } = render(<AnsiLine text={"\x1b[31mERROR\x1b[0m disk \x1b[1;32mfull\x1b[0m"} pattern={/full/gi} />);
    expect(container.querySelector(".ansi-red-fg")).toHaveTextContent("ERROR");
    const bold = container.querySelector(".ansi-green-fg.ansi-bold");
    expect(bold).toHaveTextContent("full");
    expect(bold?.querySelector("mark.jo-hit")).toHaveTextContent("full");
    expect(container.textContent).toBe("ERROR disk full");
  });

  it("splits a stream into lines whatever the chunks", () => {
    const splitter = new LineSplitter();
    expect(splitter.push("a\nb")).toEqual(["a"]);
    expect(splitter.push("c\r\nd\n")).toEqual(["bc", "d"]);
    expect(splitter.end()).toEqual([]);
  });

  it("follows a live run: lines written later appear, and it says it is live", async () => {
    let push: (text: string) => void = () => {};
    let close: () => void = () => {};
    server.use(
      http.get("*/api/deployments/etl/logs", ({ request }) => {
        // Earlier lines, asked when the pane's top is reached: none.
        if (new URL(request.url).searchParams.get("follow") !== "true") return new HttpResponse("", { headers: { "content-type": "text/plain" } });
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            const encoder = new TextEncoder();
            push = (text) => controller.enqueue(encoder.encode(text));
            close = () => controller.close();
            push("first line\n");
          },
        });
        return new HttpResponse(stream, { headers: { "content-type": "text/plain" } });
      }),
    );
    renderPage(<LogViewer sources={[live]} fileName="etl.log" height={600} />);
    expect(await screen.findByText("first line")).toBeInTheDocument();
    expect(screen.getByTestId("log-source")).toHaveTextContent("Live: following");
    act(() => push("second \x1b[33mline\x1b[0m\n"));
    expect(await screen.findByText("second")).toBeInTheDocument();
    act(() => close());
    await waitFor(() => expect(screen.getByTestId("log-status")).toHaveTextContent("2 lines loaded"));
  });

  it("opens a 100,000-line log at its tail and keeps the DOM small", async () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i + 1} \x1b[32mok\x1b[0m`);
    server.use(http.get("*/api/deployments/etl/logs", ({ request }) => {
      const tail = Number(new URL(request.url).searchParams.get("tailLines"));
      const all = new URL(request.url).searchParams.get("all") === "true";
      return new HttpResponse(`${(all ? lines : lines.slice(-tail)).join("\n")}\n`, { headers: { "content-type": "text/plain" } });
    }));
    const asked: string[] = [];
    server.events.on("request:start", ({ request }) => void asked.push(new URL(request.url).search));
    const started = performance.now();
    renderPage(<LogViewer sources={[finished]} fileName="etl.log" height={600} />);
    await waitFor(() => expect(screen.getByTestId("log-status")).toHaveTextContent(/[1-9]\d* lines loaded/));
    expect(performance.now() - started).toBeLessThan(5000);
    // Tail first: the first request asks for the last lines only, not the 100,000.
    expect(asked[0]).toContain("tailLines=5000");
    expect(screen.getByTestId("log-source")).toHaveTextContent("Finished run, from its pod");
    // Virtualised: only what fits the pane is in the page, and it is from the tail.
    const shown = [...document.querySelectorAll(".jo-log-line")].map((line) => Number(/line (\d+)/.exec(line.textContent ?? "")?.[1]));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(200);
    expect(Math.min(...shown)).toBeGreaterThan(80_000);
    server.events.removeAllListeners();
  });

  it("falls back to the history's archive when the pod is gone, and says which it shows", async () => {
    server.use(
      http.get("*/api/deployments/etl/logs", () => HttpResponse.json({ code: "not_found", message: "no pod for run etl-1" }, { status: 404 })),
      http.get("*/api/history/etl-1/logs", () => new HttpResponse("from the archive\n", { headers: { "content-type": "text/plain" } })),
    );
    renderPage(<LogViewer sources={[finished, archived]} fileName="etl.log" height={600} />);
    expect(await screen.findByText("from the archive")).toBeInTheDocument();
    expect(screen.getByTestId("log-source")).toHaveTextContent("Archived log, from the history");
  });

  it("says clearly when a log no longer exists", async () => {
    server.use(
      http.get("*/api/deployments/etl/logs", () => HttpResponse.json({ code: "not_found", message: "gone" }, { status: 404 })),
      http.get("*/api/history/etl-1/logs", () => HttpResponse.json({ code: "not_found", message: "never archived" }, { status: 404 })),
    );
    renderPage(<LogViewer sources={[finished, archived]} fileName="etl.log" height={600} />);
    expect(await screen.findByTestId("log-gone")).toHaveTextContent("This log no longer exists");
  });
});
