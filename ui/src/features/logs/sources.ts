// Where a log comes from, behind one interface for the viewer: the deployer's live log of a run
// (text, lines by number with `lines`/`fromLine`, followed as it grows) or the history's archive
// of a finished run (JSON lines with their numbers, `tailLines`/`offset`, `grep`).
import { ApiError, fetchRaw, type History } from "../../api/client";
import { LineSplitter, readLines } from "./buffer";

/** A stretch of a log: `lines[0]` is line `first` (1-based) of the whole log. */
export interface LogWindow {
  first: number;
  lines: string[];
  /** How many lines the whole log has (the number of its last line). */
  total: number;
  /** The number of the log's first line that exists (above 1 when the archive cut the head). */
  start: number;
}

export interface LogMatch {
  line: number;
  text: string;
}

/** What the archive says about the log it keeps. */
export type ArchiveInfo = Pick<History["ArchivedLog"], "complete" | "droppedLines" | "missing">;

export interface LogSource {
  kind: "live" | "archived";
  /** Changes when the log shown changes (for effects). */
  key: string;
  /** A run still going: its log can be followed. */
  running: boolean;
  /** The last `count` lines. */
  tail(count: number, signal?: AbortSignal): Promise<LogWindow>;
  /** `count` lines from line `first`. */
  range(first: number, count: number, signal?: AbortSignal): Promise<LogWindow>;
  /** The log as it grows, from about its last `tail` lines, until the run ends or `signal` aborts. */
  follow?(tail: number, signal: AbortSignal, onLines: (lines: string[]) => void): Promise<void>;
  /** Matching lines of the whole log, found by the server. */
  search(pattern: string, signal?: AbortSignal): Promise<{ matches: LogMatch[]; truncated: boolean }>;
  /** The whole log, as a file. */
  download(): Promise<Blob>;
  /** The archive's account of the log (archived logs only, once a window was read). */
  info?: () => ArchiveInfo | null;
}

/** The most lines one request reads (the deployer's and the history's bound). */
export const MAX_WINDOW = 10_000;
/** A line the archive lost (a chunk that never arrived): shown as such, keeping the numbers right. */
export const LOST = "\u0000lost";

/** Whether a pattern means more than its text: then it is sent as a regular expression. */
function isRegex(pattern: string): boolean {
  if (!/[.*+?^${}()|[\]\\]/.test(pattern)) return false;
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

function textLines(text: string): string[] {
  const splitter = new LineSplitter();
  return [...splitter.push(text), ...splitter.end()];
}

/** A run's log as the deployer serves it (`/api/deployments/{name}/logs`). */
export function liveSource(deployment: string, log: { run: string; container: string; previous: boolean }, running: boolean): LogSource {
  const base = `/api/deployments/${encodeURIComponent(deployment)}/logs`;
  const which = { run: log.run, container: log.container, ...(log.previous ? { previous: "true" } : {}) };
  const url = (path: string, extra: Record<string, string>) => `${base}${path}?${new URLSearchParams({ ...which, ...extra })}`;
  const numbered = async (extra: Record<string, string>, signal?: AbortSignal): Promise<LogWindow> => {
    const response = await fetchRaw(url("", extra), { signal });
    const lines = textLines(await response.text());
    const first = Number(response.headers.get("x-first-line") ?? 1) || 1;
    const total = Number(response.headers.get("x-total-lines") ?? first + lines.length - 1);
    return { first, lines, total, start: 1 };
  };
  return {
    kind: "live",
    // Not whether it runs: a followed log whose run ends is kept as it is, not read again.
    key: `live ${deployment} ${JSON.stringify(which)}`,
    running,
    tail: (count, signal) => numbered({ lines: String(Math.min(count, MAX_WINDOW)) }, signal),
    range: (first, count, signal) => numbered({ lines: String(Math.min(count, MAX_WINDOW)), fromLine: String(first) }, signal),
    follow: async (tail, signal, onLines) => {
      const response = await fetchRaw(url("", { follow: "true", tailLines: String(tail) }), { signal });
      await readLines(response, onLines);
    },
    search: async (pattern, signal) => {
      const query = { pattern, ignoreCase: "true", limit: "1000", ...(isRegex(pattern) ? { regex: "true" } : {}) };
      const response = await fetchRaw(url("/search", query), { signal, headers: { Accept: "application/json" } });
      const answer = (await response.json()) as { matches: LogMatch[]; truncated: boolean };
      return { matches: answer.matches, truncated: answer.truncated };
    },
    download: async () => (await fetchRaw(url("", { all: "true" }))).blob(),
  };
}

/**
 * A finished run's log as the history keeps it (`/api/history/{jobId}/logs`). `previous` is the
 * attempt before the latest one archived.
 */
export function archivedSource(jobId: string, log: { container: string; previous: boolean }): LogSource {
  const base = `/api/history/${encodeURIComponent(jobId)}/logs`;
  let info: ArchiveInfo | null = null;
  let attempt: number | null = null;

  const read = async (extra: Record<string, string>, signal?: AbortSignal): Promise<History["ArchivedLog"]> => {
    const query = new URLSearchParams({ container: log.container, ...extra });
    if (attempt !== null) query.set("attempt", String(attempt));
    const response = await fetchRaw(`${base}?${query}`, { signal, headers: { Accept: "application/json" } });
    return (await response.json()) as History["ArchivedLog"];
  };
  // The attempt shown: the latest archived, or the one before it.
  const resolve = async (signal?: AbortSignal) => {
    if (attempt !== null) return;
    const latest = await read({ tailLines: "1" }, signal);
    const attempts = latest.archived.filter((a) => a.container === latest.container).map((a) => a.attempt);
    const previous = Math.max(...attempts.filter((a) => a < latest.attempt), 0);
    if (log.previous && previous === 0) {
      throw new ApiError({ status: 404, code: "no_previous_attempt", message: "", request: `GET ${base}` });
    }
    attempt = log.previous ? previous : latest.attempt;
  };
  const window = (answer: History["ArchivedLog"]): LogWindow => {
    info = answer;
    // Lines in order with their numbers; a gap (a lost chunk) is filled with LOST lines.
    const lines: string[] = [];
    const first = answer.lines[0]?.line ?? answer.lastLine + 1;
    for (const line of answer.lines) {
      while (first + lines.length < line.line) lines.push(LOST);
      lines.push(line.text);
    }
    return { first, lines, total: answer.lastLine, start: answer.firstLine };
  };
  return {
    kind: "archived",
    key: `archived ${jobId} ${log.container} ${log.previous}`,
    running: false,
    info: () => info,
    tail: async (count, signal) => {
      await resolve(signal);
      return window(await read({ tailLines: String(Math.min(count, MAX_WINDOW)) }, signal));
    },
    range: async (first, count, signal) => {
      await resolve(signal);
      return window(await read({ offset: String(Math.max(0, first - 1)), tailLines: String(Math.min(count, MAX_WINDOW)) }, signal));
    },
    search: async (pattern, signal) => {
      await resolve(signal);
      // The first matches (from offset 0), as the deployer answers them; `total` counts them all.
      const answer = await read({ grep: pattern, ignoreCase: "true", offset: "0", tailLines: String(MAX_WINDOW), ...(isRegex(pattern) ? { regex: "true" } : {}) }, signal);
      return { matches: answer.lines, truncated: answer.total > answer.lines.length };
    },
    download: async () => {
      await resolve();
      const parts: string[] = [];
      let answer = await read({ offset: "0", tailLines: String(MAX_WINDOW) });
      for (;;) {
        parts.push(...answer.lines.map((l) => `${l.text}\n`));
        const last = answer.lines.at(-1)?.line ?? answer.lastLine;
        if (last >= answer.lastLine || answer.lines.length === 0) break;
        answer = await read({ offset: String(last), tailLines: String(MAX_WINDOW) });
      }
      return new Blob(parts, { type: "text/plain" });
    },
  };
}
