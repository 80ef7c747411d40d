// The deploy form's content, as typed (text for numbers and lists), and its conversion to and from
// the deployer's DeploymentSpec.
import type { Deployer } from "../../api/client";

type Spec = Deployer["DeploymentSpec"];

export interface EnvDraft {
  name: string;
  kind: "value" | "secret";
  value: string;
  secretName: string;
  secretKey: string;
}

export interface MountDraft {
  source: string;
  mountPath: string;
  subPath: string;
  readOnly: boolean;
  auth: "inline" | "secret";
  username: string;
  /** Typed now; never filled from a deployment (the deployer never returns it). */
  password: string;
  domain: string;
  secretName: string;
}

export interface Draft {
  name: string;
  description: string;
  resource: Deployer["Resource"] | null;
  image: string;
  command: string;
  args: string;
  env: EnvDraft[];
  workingDir: string;
  runAsUser: string;
  cpuRequest: string;
  memoryRequest: string;
  cpuLimit: string;
  memoryLimit: string;
  scheduled: boolean;
  cron: string;
  timeZone: string;
  concurrencyPolicy: Deployer["ConcurrencyPolicy"];
  startingDeadlineSeconds: string;
  successfulJobsHistoryLimit: string;
  failedJobsHistoryLimit: string;
  mounts: MountDraft[];
  backoffLimit: string;
  activeDeadlineSeconds: string;
  ttlSecondsAfterFinished: string;
}

export function emptyDraft(): Draft {
  return {
    name: "",
    description: "",
    resource: null,
    image: "",
    command: "",
    args: "",
    env: [],
    workingDir: "",
    runAsUser: "",
    cpuRequest: "",
    memoryRequest: "",
    cpuLimit: "",
    memoryLimit: "",
    scheduled: false,
    cron: "",
    timeZone: "Europe/Paris",
    concurrencyPolicy: "Forbid",
    startingDeadlineSeconds: "",
    successfulJobsHistoryLimit: "",
    failedJobsHistoryLimit: "",
    mounts: [],
    backoffLimit: "",
    activeDeadlineSeconds: "",
    ttlSecondsAfterFinished: "",
  };
}

export const emptyEnv = (): EnvDraft => ({ name: "", kind: "value", value: "", secretName: "", secretKey: "" });
export const emptyMount = (): MountDraft => ({ source: "", mountPath: "", subPath: "", readOnly: false, auth: "inline", username: "", password: "", domain: "", secretName: "" });

/** A Kubernetes name made from an artifact's name: lower case, `-` for the rest, at most 52 characters. */
export function nameFrom(artifact: string): string {
  return artifact
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 52)
    .replace(/-+$/g, "");
}

/** What is wrong with a name as typed (an RFC 1123 label; 52 characters with a schedule), or null. */
export function nameProblem(name: string, scheduled: boolean): "empty" | "tooLong" | "characters" | "edges" | null {
  if (name === "") return "empty";
  if (name.length > (scheduled ? 52 : 63)) return "tooLong";
  if (!/^[a-z0-9-]+$/.test(name)) return "characters";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return "edges";
  return null;
}

const lines = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
const optionalInt = (text: string): number | null => (text.trim() === "" ? null : Number(text.trim()));
const optional = (text: string): string | null => (text.trim() === "" ? null : text.trim());

export function toSpec(draft: Draft): Spec {
  const amounts = (cpu: string, memory: string) => (optional(cpu) || optional(memory) ? { cpu: optional(cpu), memory: optional(memory) } : null);
  const requests = amounts(draft.cpuRequest, draft.memoryRequest);
  const limits = amounts(draft.cpuLimit, draft.memoryLimit);
  return {
    name: optional(draft.name),
    description: optional(draft.description),
    resource: draft.resource as Spec["resource"],
    runner: {
      image: draft.image.trim(),
      command: lines(draft.command),
      args: lines(draft.args),
      env: draft.env.map((e) =>
        e.kind === "secret" ? { name: e.name.trim(), secret: { name: e.secretName.trim(), key: e.secretKey.trim() } } : { name: e.name.trim(), value: e.value },
      ),
      workingDir: optional(draft.workingDir),
      runAsUser: optionalInt(draft.runAsUser),
      resources: requests || limits ? { requests, limits } : null,
    },
    schedule: draft.scheduled
      ? {
          cron: draft.cron.trim(),
          timeZone: optional(draft.timeZone),
          concurrencyPolicy: draft.concurrencyPolicy,
          startingDeadlineSeconds: optionalInt(draft.startingDeadlineSeconds),
          successfulJobsHistoryLimit: optionalInt(draft.successfulJobsHistoryLimit),
          failedJobsHistoryLimit: optionalInt(draft.failedJobsHistoryLimit),
        }
      : null,
    mounts: draft.mounts.map((m) => ({
      source: m.source.trim(),
      mountPath: m.mountPath.trim(),
      subPath: optional(m.subPath),
      readOnly: m.readOnly,
      ...(m.auth === "secret"
        ? { secretName: optional(m.secretName) }
        : // The password goes in the request only; the schema's type leaves it out on purpose.
          { credentials: { username: m.username.trim(), password: m.password, domain: optional(m.domain) } as Deployer["SmbCredentials"] }),
    })),
    backoffLimit: optionalInt(draft.backoffLimit),
    activeDeadlineSeconds: optionalInt(draft.activeDeadlineSeconds),
    ttlSecondsAfterFinished: optionalInt(draft.ttlSecondsAfterFinished),
  };
}

const text = (value: number | string | null | undefined) => (value === null || value === undefined ? "" : String(value));

export function fromSpec(spec: Spec): Draft {
  const runner = spec.runner;
  return {
    ...emptyDraft(),
    name: spec.name ?? "",
    description: spec.description ?? "",
    resource: spec.resource,
    image: runner.image,
    command: (runner.command ?? []).join("\n"),
    args: (runner.args ?? []).join("\n"),
    env: (runner.env ?? []).map((e) =>
      e.secret ? { ...emptyEnv(), name: e.name, kind: "secret", secretName: e.secret.name, secretKey: e.secret.key } : { ...emptyEnv(), name: e.name, value: e.value ?? "" },
    ),
    workingDir: runner.workingDir ?? "",
    runAsUser: text(runner.runAsUser),
    cpuRequest: runner.resources?.requests?.cpu ?? "",
    memoryRequest: runner.resources?.requests?.memory ?? "",
    cpuLimit: runner.resources?.limits?.cpu ?? "",
    memoryLimit: runner.resources?.limits?.memory ?? "",
    scheduled: !!spec.schedule,
    cron: spec.schedule?.cron ?? "",
    timeZone: spec.schedule?.timeZone ?? "",
    concurrencyPolicy: spec.schedule?.concurrencyPolicy ?? "Forbid",
    startingDeadlineSeconds: text(spec.schedule?.startingDeadlineSeconds),
    successfulJobsHistoryLimit: text(spec.schedule?.successfulJobsHistoryLimit),
    failedJobsHistoryLimit: text(spec.schedule?.failedJobsHistoryLimit),
    // Kept credentials come back as the Secret holding them: the password is never shown again.
    mounts: (spec.mounts ?? []).map((m) => ({
      ...emptyMount(),
      source: m.source,
      mountPath: m.mountPath,
      subPath: m.subPath ?? "",
      readOnly: m.readOnly ?? false,
      auth: m.secretName || !m.credentials ? "secret" : "inline",
      username: m.credentials?.username ?? "",
      domain: m.credentials?.domain ?? "",
      secretName: m.secretName ?? "",
    })),
    backoffLimit: text(spec.backoffLimit),
    activeDeadlineSeconds: text(spec.activeDeadlineSeconds),
    ttlSecondsAfterFinished: text(spec.ttlSecondsAfterFinished),
  };
}

/** Kubernetes objects as YAML, for reading (keys in their order, strings quoted when YAML would misread them). */
export function toYaml(value: unknown, indent = 0): string {
  const pad = "  ".repeat(indent);
  const scalar = (v: unknown): string => {
    if (v === null || v === undefined) return "null";
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    const s = String(v);
    if (s.includes("\n")) return `|\n${s.split("\n").map((l) => `${pad}  ${l}`).join("\n")}`;
    return s === "" || /^[\s\-?:,[\]{}#&*!|>'"%@`]|: | #|^(true|false|null|yes|no|on|off|~)$|^[\d.+-]/i.test(s) ? JSON.stringify(s) : s;
  };
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return value
      .map((item) => {
        if (item !== null && typeof item === "object") {
          const inner = toYaml(item, indent + 1).trimStart();
          return `${pad}- ${inner}`;
        }
        return `${pad}- ${scalar(item)}`;
      })
      .join("\n");
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return "{}";
    return entries
      .map(([key, v]) => {
        if (v !== null && typeof v === "object" && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) {
          return `${pad}${key}:\n${toYaml(v, Array.isArray(v) ? indent : indent + 1)}`;
        }
        return `${pad}${key}: ${typeof v === "object" && v !== null ? (Array.isArray(v) ? "[]" : "{}") : scalar(v)}`;
      })
      .join("\n");
  }
  return `${pad}${scalar(value)}`;
}

/** Problems by field, and those no field of the form shows. */
export function problemsByField(problems: { field: string; message: string }[], known: (field: string) => boolean) {
  const byField = new Map<string, string>();
  const elsewhere: { field: string; message: string }[] = [];
  for (const problem of problems) {
    if (known(problem.field)) byField.set(problem.field, byField.has(problem.field) ? `${byField.get(problem.field)}; ${problem.message}` : problem.message);
    else elsewhere.push(problem);
  }
  return { byField, elsewhere };
}

/** The value at a problem's field (`runner.env[0].name`) of a spec; the whole spec for "". */
export function valueAt(spec: unknown, field: string): unknown {
  let value = spec;
  for (const step of field.split(/[.[\]]+/).filter(Boolean)) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/** Whether two specs hold the same value at a field (a problem found there still applies). */
export function sameAt(a: unknown, b: unknown, field: string): boolean {
  return JSON.stringify(valueAt(a, field)) === JSON.stringify(valueAt(b, field));
}
