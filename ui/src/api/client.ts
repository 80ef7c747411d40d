// The typed clients of the platform's APIs, through the gateway (same origin: the gateway's
// HttpOnly cookie carries the token). Types come from openapi/*.json (src/api/generated, never
// written by hand). Every failure becomes an ApiError, which the pages show in words with the
// request id, never as raw JSON.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths as CatalogPaths, components as CatalogComponents } from "./generated/nexus-catalog";
import type { paths as DeployerPaths, components as DeployerComponents } from "./generated/job-deployer";
import type { paths as HistoryPaths, components as HistoryComponents } from "./generated/job-history";
import type { paths as GatewayPaths, components as GatewayComponents } from "./generated/auth-gateway";

export type Catalog = CatalogComponents["schemas"];
export type Deployer = DeployerComponents["schemas"];
export type History = HistoryComponents["schemas"];
export type Gateway = GatewayComponents["schemas"];

/** One problem of a spec, at its field (the deployer's 400 `invalid_deployment`). */
export interface Problem {
  field: string;
  message: string;
}

/** What went wrong with a call, in the shape every service answers (`{code, message, field?, position?}`). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string | null;
  readonly position?: number | null;
  readonly problems: Problem[];
  readonly requestId: string | null;
  readonly retryAfter: number | null;
  readonly request: string;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    request: string;
    field?: string | null;
    position?: number | null;
    problems?: Problem[];
    requestId?: string | null;
    retryAfter?: number | null;
  }) {
    super(init.message);
    this.name = "ApiError";
    this.status = init.status;
    this.code = init.code;
    this.field = init.field;
    this.position = init.position;
    this.problems = init.problems ?? [];
    this.requestId = init.requestId ?? null;
    this.retryAfter = init.retryAfter ?? null;
    this.request = init.request;
  }

  /** No answer at all: the network or the gateway is down. */
  get unreachable(): boolean {
    return this.status === 0;
  }
}

/** Reads a failed answer into an ApiError, whatever its body (JSON of the platform, text, HTML of a proxy). */
export async function errorFrom(response: Response, request: string, body?: unknown): Promise<ApiError> {
  let parsed = body;
  if (parsed === undefined) {
    const text = await response.text().catch(() => "");
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  const json = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const retryAfter = Number(response.headers.get("retry-after"));
  return new ApiError({
    status: response.status,
    code: typeof json.code === "string" ? json.code : `http_${response.status}`,
    message: typeof json.message === "string" ? json.message : response.statusText || `HTTP ${response.status}`,
    field: typeof json.field === "string" ? json.field : null,
    position: typeof json.position === "number" ? json.position : null,
    problems: Array.isArray(json.problems) ? (json.problems as Problem[]) : [],
    requestId: response.headers.get("x-request-id"),
    retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
    request,
  });
}

export function unreachable(request: string, cause: unknown): ApiError {
  return new ApiError({
    status: 0,
    code: "unreachable",
    message: cause instanceof Error ? cause.message : String(cause),
    request,
  });
}

/** Someone listens for 401s (the session expired) to send the user to the login page. */
let onUnauthenticated: (() => void) | null = null;
export function whenUnauthenticated(listener: (() => void) | null) {
  onUnauthenticated = listener;
}

const errors: Middleware = {
  async onResponse({ request, response }) {
    // The gateway's own /api/auth/* answers (a first visit's /me, a failed login) are not an expired session.
    if (response.status === 401 && !new URL(request.url).pathname.startsWith("/api/auth/")) {
      onUnauthenticated?.();
    }
    return undefined;
  },
};

function client<Paths extends object>() {
  // The base is the page's origin; in tests (happy-dom, msw) a fixed one.
  const baseUrl = typeof window !== "undefined" && window.location.origin !== "null" ? window.location.origin : "http://localhost";
  const c = createClient<Paths>({ baseUrl, credentials: "same-origin" });
  c.use(errors);
  return c;
}

export const catalogApi = client<CatalogPaths>();
export const deployerApi = client<DeployerPaths>();
export const historyApi = client<HistoryPaths>();
export const gatewayApi = client<GatewayPaths>();

/**
 * Unwraps an openapi-fetch call: its data, or an ApiError (a network failure included).
 * `const list = await call("GET /api/deployments", deployerApi.GET("/api/deployments", {...}))`.
 */
export async function call<T>(
  request: string,
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await pending;
  } catch (cause) {
    throw unreachable(request, cause);
  }
  if (!result.response.ok) throw await errorFrom(result.response, request, result.error);
  return result.data as T;
}

/** A GET of text (a log, a DAG file) or a call outside the generated types, same error handling. */
export async function fetchRaw(url: string, init?: RequestInit): Promise<Response> {
  const request = `${init?.method ?? "GET"} ${url.split("?")[0]}`;
  let response: Response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...init });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw unreachable(request, cause);
  }
  if (response.status === 401) onUnauthenticated?.();
  if (!response.ok) throw await errorFrom(response, request);
  return response;
}

/** Every deployment matching the filters: the deployer answers at most 500 a page. */
export async function listAllDeployments(query: { type?: Deployer["WorkloadKind"]; state?: Deployer["DeploymentState"]; owner?: string } = {}) {
  const page = 500;
  const first = await call("GET /api/deployments", deployerApi.GET("/api/deployments", { params: { query: { ...query, offset: 0, limit: page } } }));
  const deployments = [...first.deployments];
  while (deployments.length < first.total) {
    const next = await call("GET /api/deployments", deployerApi.GET("/api/deployments", { params: { query: { ...query, offset: deployments.length, limit: page } } }));
    if (next.deployments.length === 0) break;
    deployments.push(...next.deployments);
  }
  return { ...first, deployments, offset: 0, limit: deployments.length };
}
