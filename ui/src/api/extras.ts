// Calls of the services' additions for the UI that the OpenAPI documents do not describe yet (see
// the team's status notes): each in one place, with the fallback the UI uses while a service
// answers 404/405 for it. Replace by the generated clients once the documents have them.
import { ApiError, fetchJson, fetchRaw, type Deployer } from "./client";

const missing = (error: unknown) => error instanceof ApiError && (error.status === 404 || error.status === 405 || error.status === 501);

export interface SchedulePreview {
  times: string[];
  /** Who computed them: the deployer (which decides) or, while it cannot, this browser. */
  source: "server" | "browser";
}

/** The next `count` fire times of a schedule, as the deployer computes them; null when it cannot say. */
export async function previewSchedule(cron: string, timeZone: string, count: number, signal?: AbortSignal): Promise<string[] | null> {
  const query = new URLSearchParams({ cron, timeZone, count: String(count) });
  try {
    const answer = await fetchJson<{ times: string[] }>(`/api/schedules/preview?${query}`, { signal });
    return answer.times;
  } catch (error) {
    if (missing(error)) return null;
    throw error;
  }
}

export interface RunnerImage {
  image: string;
  description?: string;
  command?: string[];
  args?: string[];
}

/** The runner images offered (from the deployer's configuration); none while it has no list. */
export async function listRunners(): Promise<RunnerImage[]> {
  try {
    const answer = await fetchJson<RunnerImage[] | { runners: RunnerImage[] }>("/api/runners");
    return Array.isArray(answer) ? answer : answer.runners;
  } catch (error) {
    if (missing(error)) return [];
    throw error;
  }
}

export interface DryRun {
  objects: unknown[];
  warnings?: string[];
}

/** What a create (no name) or change would apply, without applying it. A 400 lists the problems. */
export async function dryRun(spec: Deployer["DeploymentSpec"], existing?: string): Promise<DryRun | null> {
  const url = existing ? `/api/deployments/${encodeURIComponent(existing)}?dryRun=true` : "/api/deployments?dryRun=true";
  try {
    return await fetchJson<DryRun>(url, { method: existing ? "PUT" : "POST", body: JSON.stringify(spec) });
  } catch (error) {
    if (missing(error)) return null;
    throw error;
  }
}

export interface LogMatch {
  line: number;
  text: string;
}

/**
 * The lines of a log matching a pattern, found by the server (the viewer holds only part of a
 * log), or null when the server does not search (it answers the log itself, as text, then).
 */
export async function searchLog(base: string, params: URLSearchParams, pattern: string, signal?: AbortSignal): Promise<LogMatch[] | null> {
  // The deployer's search: GET .../logs/search?pattern=&run=&container= (a regular expression
  // when it is one). The history's archive takes `grep` on the log itself.
  const archived = base.startsWith("/api/history/");
  const query = new URLSearchParams(params);
  query.delete("follow");
  query.delete("tailLines");
  if (archived) query.set("grep", pattern);
  else {
    query.set("pattern", pattern);
    query.set("ignoreCase", "true");
    if (isRegex(pattern)) query.set("regex", "true");
  }
  let response: Response;
  try {
    response = await fetchRaw(`${base}${archived ? "" : "/search"}?${query}`, { signal, headers: { Accept: "application/json" } });
  } catch (error) {
    if (missing(error)) return null;
    throw error;
  }
  if (!(response.headers.get("content-type") ?? "").includes("json")) {
    await response.body?.cancel();
    return null;
  }
  const answer = (await response.json()) as { matches?: LogMatch[] } | LogMatch[];
  return Array.isArray(answer) ? answer : (answer.matches ?? []);
}

/** Whether a pattern means more than its text (the viewer marks it as a regular expression too). */
function isRegex(pattern: string): boolean {
  if (!/[.*+?^${}()|[\]\\]/.test(pattern)) return false;
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

export interface Selector {
  name: string;
  type: "string" | "number" | "datetime" | "boolean" | "list";
  operators: string[];
  values?: string[];
}

/** The history's selectors with their types, operators and values; null while the service has no list. */
export async function listSelectors(locale: string): Promise<Selector[] | null> {
  try {
    const answer = await fetchJson<Selector[] | { selectors: Selector[] }>(`/api/history/selectors?locale=${locale}`);
    return Array.isArray(answer) ? answer : answer.selectors;
  } catch (error) {
    if (missing(error) || (error instanceof ApiError && error.status === 400)) return null;
    throw error;
  }
}
