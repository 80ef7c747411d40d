import { act, render, screen, waitFor } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { useMemo, useState } from "react";
import { describe, expect, it } from "vitest";
import type { History } from "../../api/client";
import { renderPage } from "../../test/render";
import { server } from "../../test/server";
import { AnsiLine } from "./ansi";
import { LineSplitter } from "./buffer";
import { LogViewer } from "./LogViewer";
import { archivedSource, liveSource } from "./sources";

const live = (running: boolean) => liveSource("etl", { run: "etl-1", container: "runner", previous: false }, running);
const archived = () => archivedSource("etl-1", { container: "runner", previous: false });

const plain = (lines: string[], headers: Record<string, string> = {}) =>
  new HttpResponse(lines.map((line) => `${line}\n`).join(""), { headers: { "content-type": "text/plain; charset=utf-8", ...headers } });
const refused = (field: string, message: string) => HttpResponse.json({ code: "invalid_parameter", message, field }, { status: 400 });

/**
 * A read (not followed) of `log` as the deployer answers it (services/job-deployer/src/http/runs.rs):
 * lines by number with `lines` (and `fromLine`), saying which in X-First-Line and X-Total-Lines;
 * else the last `tailLines` (1000 by default) or, with `all`, the whole log, as plain text.
 */
function deployerRead(log: string[], query: URLSearchParams) {
  const lines = query.get("lines");
  if (lines === null) {
    if (query.has("fromLine")) return refused("fromLine", "`fromLine` goes with `lines`");
    if (query.get("all") === "true") return plain(log);
    const tail = Number(query.get("tailLines") ?? 1000);
    return plain(tail === 0 ? [] : log.slice(-tail));
  }
  const count = Number(lines);
  if (!(count >= 1 && count <= 10_000)) return refused("lines", `the parameter \`lines\` is ${lines}; 1 to 10000`);
  if (["follow", "tailLines", "sinceSeconds", "limitBytes"].some((p) => query.has(p))) {
    return refused("lines", "`lines` reads lines by number: not with follow, tailLines, sinceSeconds or limitBytes");
  }
  const first = query.has("fromLine") ? Number(query.get("fromLine")) : Math.max(1, log.length - count + 1);
  return plain(log.slice(first - 1, first - 1 + count), { "X-First-Line": String(first), "X-Total-Lines": String(log.length) });
}

/**
 * The history's archive of run etl-1's runner log (one attempt) as job-history answers it
 * (`ArchivedLog`, openapi/job-history.json): the last `tailLines` (1000 by default) or those after
 * `offset`, numbered as in the whole log.
 */
function archiveRead(log: string[], query: URLSearchParams) {
  if ((query.get("container") ?? "runner") !== "runner" || (query.get("attempt") ?? "1") !== "1") {
    return HttpResponse.json({ code: "run_never_started", message: "the run has no such attempt of that container" }, { status: 404 });
  }
  const numbered = log.map((text, i) => ({ line: i + 1, text }));
  const tail = Number(query.get("tailLines") ?? 1000);
  const offset = query.get("offset");
  const lines = offset === null ? (tail === 0 ? [] : numbered.slice(-tail)) : numbered.slice(Number(offset), Number(offset) + tail);
  const endedAt = "2025-03-01T10:00:00Z";
  const answer: History["ArchivedLog"] = {
    jobId: "etl-1",
    container: "runner",
    attempt: 1,
    archived: [{ container: "runner", attempt: 1, complete: true, endedAt }],
    endedAt,
    complete: true,
    firstLine: 1,
    lastLine: log.length,
    droppedLines: 0,
    droppedBytes: 0,
    keptBytes: log.reduce((bytes, line) => bytes + line.length + 1, 0),
    missing: [],
    total: log.length,
    lines,
  };
  return HttpResponse.json(answer);
}

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

  it("follows a live run: lines written later appear, numbered, and it says it is live", async () => {
    const written: string[] = [];
    let push: (line: string) => void = () => {};
    let close: () => void = () => {};
    const followed: URLSearchParams[] = [];
    server.use(
      http.get("*/api/deployments/etl/logs", ({ request }) => {
        const query = new URL(request.url).searchParams;
        // The numbered read that places the followed lines in the log.
        if (query.get("follow") !== "true") return deployerRead(written, query);
        followed.push(query);
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            const encoder = new TextEncoder();
            push = (line) => {
              written.push(line);
              controller.enqueue(encoder.encode(`${line}\n`));
            };
            close = () => controller.close();
            push("first line");
          },
        });
        return new HttpResponse(stream, { headers: { "content-type": "text/plain; charset=utf-8" } });
      }),
    );
    renderPage(<LogViewer sources={[live(true)]} fileName="etl.log" height={600} />);
    expect(await screen.findByText("first line")).toBeInTheDocument();
    expect(screen.getByTestId("log-source")).toHaveTextContent("Live: following");
    expect(Object.fromEntries(followed[0]!)).toEqual({ run: "etl-1", container: "runner", follow: "true", tailLines: "5000" });
    act(() => push("second \x1b[33mline\x1b[0m"));
    expect(await screen.findByText("second")).toBeInTheDocument();
    act(() => close());
    await waitFor(() => expect(screen.getByTestId("log-status")).toHaveTextContent("2 lines loaded · lines 1–2"));
    expect(document.querySelector(".jo-log-line[data-line='2']")).toHaveTextContent("2second line");
  });

  it("reads the log again when the run ends after its followed stream broke", async () => {
    const written = ["first line"];
    server.use(
      http.get("*/api/deployments/etl/logs", ({ request }) => {
        const query = new URL(request.url).searchParams;
        if (query.get("follow") !== "true") return deployerRead(written, query);
        // The connection drops after the first line.
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("first line\n"));
            controller.error(new TypeError("network error"));
          },
        });
        return new HttpResponse(stream, { headers: { "content-type": "text/plain; charset=utf-8" } });
      }),
    );
    // The page's state of the run, as its periodic read of the runs would change it.
    let setRunning: (running: boolean) => void = () => {};
    function Page() {
      const [running, set] = useState(true);
      setRunning = set;
      const sources = useMemo(() => [live(running)], [running]);
      return <LogViewer sources={sources} fileName="etl.log" height={600} />;
    }
    renderPage(<Page />);
    expect(await screen.findByRole("alert")).toBeInTheDocument();
    // Meanwhile the run wrote its last line and ended.
    written.push("last line");
    act(() => setRunning(false));
    expect(await screen.findByText("last line")).toBeInTheDocument();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(screen.getByTestId("log-status")).toHaveTextContent("2 lines loaded · lines 1–2");
  });

  it("opens a 100,000-line log at its tail and keeps the DOM small", async () => {
    const log = Array.from({ length: 100_000 }, (_, i) => `line ${i + 1} \x1b[32mok\x1b[0m`);
    const asked: URLSearchParams[] = [];
    server.use(
      http.get("*/api/deployments/etl/logs", ({ request }) => {
        const query = new URL(request.url).searchParams;
        asked.push(query);
        return deployerRead(log, query);
      }),
    );
    renderPage(<LogViewer sources={[live(false)]} fileName="etl.log" height={600} />);
    await waitFor(() => expect(screen.getByTestId("log-status")).toHaveTextContent("5000 lines loaded · lines 95001–100000"));
    // Tail first: the first request asks for the last lines by number, not the 100,000.
    expect(Object.fromEntries(asked[0]!)).toEqual({ run: "etl-1", container: "runner", lines: "5000" });
    expect(asked.some((query) => query.get("all") === "true")).toBe(false);
    expect(screen.getByTestId("log-source")).toHaveTextContent("Finished run, from its pod");
    // Virtualised: only what fits the pane is in the page, from the tail, each line with its number.
    const shown = [...document.querySelectorAll(".jo-log-line")].map((line) => ({
      number: Number(line.getAttribute("data-line")),
      text: Number(/line (\d+)/.exec(line.textContent ?? "")?.[1]),
    }));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(200);
    expect(Math.min(...shown.map((line) => line.text))).toBeGreaterThan(80_000);
    for (const line of shown) expect(line.number).toBe(line.text);
  });

  it("falls back to the history's archive when the pod is gone, and says which it shows", async () => {
    const deployer: string[] = [];
    server.use(
      http.get("*/api/deployments/etl/logs", ({ request }) => {
        deployer.push(new URL(request.url).search);
        return HttpResponse.json({ code: "run_not_found", message: "'etl' has no run named 'etl-1'", field: "run" }, { status: 404 });
      }),
      http.get("*/api/history/etl-1/logs", ({ request }) => archiveRead(["from the archive", "its second line"], new URL(request.url).searchParams)),
    );
    renderPage(<LogViewer sources={[live(false), archived()]} fileName="etl.log" height={600} />);
    expect(await screen.findByText("from the archive")).toBeInTheDocument();
    expect(deployer).toHaveLength(1);
    expect(screen.getByTestId("log-source")).toHaveTextContent("Archived log, from the history");
    expect(screen.getByTestId("log-status")).toHaveTextContent("2 lines loaded · lines 1–2");
    expect(screen.queryByTestId("log-head-dropped")).not.toBeInTheDocument();
  });

  it("reads a finished run's log from the archive when the deployer says its pod never came", async () => {
    server.use(
      http.get("*/api/deployments/etl/logs", () =>
        HttpResponse.json({ code: "log_not_ready", message: "run 'etl-1' has no pod yet" }, { status: 409 }),
      ),
      http.get("*/api/history/etl-1/logs", ({ request }) => archiveRead(["archived line"], new URL(request.url).searchParams)),
    );
    renderPage(<LogViewer sources={[live(false), archived()]} fileName="etl.log" height={600} />);
    expect(await screen.findByText("archived line")).toBeInTheDocument();
    expect(screen.queryByTestId("log-waiting")).not.toBeInTheDocument();
  });

  it("says clearly when a log no longer exists", async () => {
    server.use(
      http.get("*/api/deployments/etl/logs", () => HttpResponse.json({ code: "run_not_found", message: "'etl' has no run named 'etl-1'", field: "run" }, { status: 404 })),
      http.get("*/api/history/etl-1/logs", () =>
        HttpResponse.json({ code: "log_dropped", message: "the log of the runner container (attempt 1) was removed by the retention" }, { status: 404 }),
      ),
    );
    renderPage(<LogViewer sources={[live(false), archived()]} fileName="etl.log" height={600} />);
    const gone = await screen.findByTestId("log-gone");
    expect(gone).toHaveTextContent("This log no longer exists");
    expect(gone).toHaveTextContent("removed by the retention");
  });
});
