// Configure and deploy, in the original tool's four parts: the resource to run, the runner, the
// runner's configuration, deploy. "Check" asks the deployer for a dry run: every problem appears at
// its field and a read-only YAML shows what Kubernetes would get. The same form changes a
// deployment, over the revision it was read from: a change made meanwhile is a clear conflict.
import {
  ActionIcon,
  Alert,
  Autocomplete,
  Badge,
  Button,
  Checkbox,
  Code,
  Group,
  NumberInput,
  Paper,
  PasswordInput,
  SegmentedControl,
  Select,
  Stack,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconPlus, IconTrash } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { useNavigate, useParams } from "react-router";
import { ApiError, call, catalogApi, deployerApi, unreachable, type Deployer, type Problem } from "../api/client";
import { useCanOperate } from "../auth";
import { ErrorView, FullPageLoader } from "../components/ErrorView";
import { CronEditor } from "../features/cron/CronEditor";
import { emptyDraft, emptyEnv, emptyMount, fromSpec, nameFrom, nameProblem, problemsByField, sameAt, toSpec, toYaml, type Draft } from "../features/deploy/draft";
import { useT, type Key } from "../i18n";
import { useUrlState } from "../url";

/** The form's fields, to which the deployer's problems are attached (anything below goes to the nearest). */
function knownFields(draft: Draft): Set<string> {
  const fields = [
    "name", "description", "resource", "runner", "runner.image", "runner.command", "runner.args", "runner.workingDir", "runner.runAsUser", "runner.env",
    "runner.resources", "runner.resources.requests.cpu", "runner.resources.requests.memory", "runner.resources.limits.cpu", "runner.resources.limits.memory",
    "schedule", "schedule.cron", "schedule.timeZone", "schedule.concurrencyPolicy", "schedule.startingDeadlineSeconds",
    "schedule.successfulJobsHistoryLimit", "schedule.failedJobsHistoryLimit", "mounts", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished",
  ];
  draft.env.forEach((_, i) => fields.push(`runner.env[${i}]`, `runner.env[${i}].name`, `runner.env[${i}].value`, `runner.env[${i}].secret`));
  draft.mounts.forEach((_, i) =>
    fields.push(`mounts[${i}]`, `mounts[${i}].source`, `mounts[${i}].mountPath`, `mounts[${i}].subPath`, `mounts[${i}].credentials`, `mounts[${i}].credentials.username`, `mounts[${i}].credentials.password`, `mounts[${i}].secretName`),
  );
  return new Set(fields);
}

/** The field a problem is shown at: its own, or the nearest enclosing one the form has. */
export function fieldFor(field: string, known: Set<string>): string | null {
  let current = field;
  while (current) {
    if (known.has(current)) return current;
    const cut = Math.max(current.lastIndexOf("."), current.lastIndexOf("["));
    if (cut <= 0) return null;
    current = current.slice(0, cut);
  }
  return null;
}

export default function DeployPage() {
  const t = useT();
  const { name: existing } = useParams();
  const url = useUrlState();
  const navigate = useNavigate();
  const client = useQueryClient();
  const canOperate = useCanOperate();
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [loadedFrom, setLoadedFrom] = useState<{ etag: string | null; revision: number } | null>(null);
  // The deployer's problems, with the spec they were found in: a problem stays at its field until
  // that field's value changes.
  const [found, setFound] = useState<{ problems: Problem[]; spec: Deployer["DeploymentSpec"] | null }>({ problems: [], spec: null });
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [preview, setPreview] = useState<Deployer["DryRun"] | null>(null);
  const [checked, setChecked] = useState(false);
  const [busy, setBusy] = useState<"check" | "deploy" | null>(null);
  const [conflict, setConflict] = useState(false);
  const update = (patch: Partial<Draft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    setChecked(false);
  };

  // A change: the deployment as it is now, and the version (ETag) the change applies over.
  const current = useQuery({
    queryKey: ["deployment-for-edit", existing],
    enabled: !!existing,
    queryFn: async () => {
      const result = await call(`GET /api/deployments/${existing}`, deployerApi.GET("/api/deployments/{name}", { params: { path: { name: existing! } } }).then((r) => ({ ...r, data: r.data ? { detail: r.data, etag: r.response.headers.get("etag") } : undefined })));
      return result;
    },
    staleTime: Infinity,
    gcTime: 0,
  });
  useEffect(() => {
    if (current.data?.detail.spec) {
      setDraft(fromSpec(current.data.detail.spec));
      setLoadedFrom({ etag: current.data.etag, revision: current.data.detail.revision });
    }
  }, [current.data]);

  // A new deployment: the version chosen in the catalog, and what it runs.
  const repository = existing ? (draft.resource?.repository ?? "") : url.get("repository");
  const group = existing ? (draft.resource?.group ?? "") : url.get("group");
  const artifact = existing ? (draft.resource?.name ?? "") : url.get("name");
  const version = url.get("version") || (existing ? (draft.resource?.version ?? "") : "");
  const groupPath = group === "" ? "-" : group;
  const versions = useQuery({
    queryKey: ["versions", repository, groupPath, artifact],
    enabled: !!repository && !!artifact,
    queryFn: () => call("GET versions", catalogApi.GET("/api/catalog/repositories/{repository}/artifacts/{group}/{name}/versions", { params: { path: { repository, group: groupPath, name: artifact } } })),
  });
  const versionDetail = useQuery({
    queryKey: ["version", repository, groupPath, artifact, version],
    enabled: !!repository && !!artifact && !!version && (!existing || version !== current.data?.detail.spec?.resource.version),
    queryFn: () => call("GET version", catalogApi.GET("/api/catalog/repositories/{repository}/artifacts/{group}/{name}/versions/{version}", { params: { path: { repository, group: groupPath, name: artifact, version } } })),
  });
  useEffect(() => {
    const toRun = versionDetail.data?.toRun;
    if (!toRun) return;
    setDraft((d) => ({ ...d, resource: toRun, name: d.name || existing || nameFrom(toRun.name) }));
  }, [versionDetail.data, existing]);

  const runners = useQuery({ queryKey: ["runners"], queryFn: () => call("GET /api/runners", deployerApi.GET("/api/runners")), staleTime: 5 * 60_000 });

  // The name, checked as it is typed: its form here, whether it is taken on the server.
  const [typedName] = useDebouncedValue(draft.name, 400);
  const localNameProblem = nameProblem(draft.name, draft.scheduled);
  const taken = useQuery({
    queryKey: ["name-taken", typedName],
    enabled: !existing && !!typedName && nameProblem(typedName, draft.scheduled) === null,
    queryFn: async () => {
      const { response } = await deployerApi.GET("/api/deployments/{name}", { params: { path: { name: typedName } } });
      return response.status === 200;
    },
    retry: false,
  });

  const known = useMemo(() => knownFields(draft), [draft]);
  const spec = useMemo(() => toSpec(draft), [draft]);
  const problems = useMemo(() => found.problems.filter((p) => sameAt(spec, found.spec, p.field)), [found, spec]);
  const { byField, elsewhere } = useMemo(() => {
    const mapped = problems.map((p) => ({ field: fieldFor(p.field, known) ?? p.field, message: p.message }));
    return problemsByField(mapped, (field) => known.has(field));
  }, [problems, known]);
  const err = (field: string) => byField.get(field);
  const nameError =
    err("name") ??
    (draft.name !== "" && localNameProblem ? t(`deploy.name.${localNameProblem}` as Key) : undefined) ??
    (taken.data && typedName === draft.name ? t("deploy.name.taken", { name: draft.name }) : undefined);

  const submit = async (mode: "check" | "deploy") => {
    setBusy(mode);
    setFailure(null);
    setConflict(false);
    const request = `${existing ? `PUT /api/deployments/${existing}` : "POST /api/deployments"}${mode === "check" ? "?dryRun=true" : ""}`;
    const dryRun = mode === "check";
    try {
      const answer = await call(
        request,
        existing
          ? deployerApi.PUT("/api/deployments/{name}", {
              params: { path: { name: existing }, query: { dryRun }, header: loadedFrom?.etag && !dryRun ? { "If-Match": loadedFrom.etag } : {} },
              body: spec,
            })
          : deployerApi.POST("/api/deployments", { params: { query: { dryRun } }, body: spec }),
      );
      setFound({ problems: [], spec });
      if (dryRun) {
        setPreview(answer as Deployer["DryRun"]);
        setChecked(true);
        return;
      }
      const saved = answer as Deployer["DeploymentDetail"];
      await client.invalidateQueries({ queryKey: ["deployments"] });
      notifications.show({ color: "green", message: t(existing ? "deploy.changed" : "deploy.deployed", { name: saved.name }) });
      navigate(`/deployments/${encodeURIComponent(saved.name)}`);
    } catch (error) {
      setPreview(null);
      if (error instanceof ApiError && error.problems.length > 0) {
        setFound({ problems: error.problems, spec });
      } else if (error instanceof ApiError && (error.status === 412 || (error.status === 409 && !!existing))) {
        setConflict(true);
      } else if (error instanceof ApiError && error.field) {
        setFound({ problems: [{ field: error.field, message: error.message }], spec });
      } else {
        setFailure(error instanceof ApiError ? error : unreachable(request, error));
      }
    } finally {
      setBusy(null);
    }
  };

  if (!canOperate) return <Alert color="yellow">{t("deploy.viewerCannot")}</Alert>;
  if (existing && current.isPending) return <FullPageLoader />;
  if (existing && current.error) return <ErrorView error={current.error} onRetry={() => current.refetch()} />;

  const setEnv = (index: number, patch: Partial<Draft["env"][number]>) => update({ env: draft.env.map((e, i) => (i === index ? { ...e, ...patch } : e)) });
  const setMount = (index: number, patch: Partial<Draft["mounts"][number]>) => update({ mounts: draft.mounts.map((m, i) => (i === index ? { ...m, ...patch } : m)) });

  return (
    <Stack maw={1100}>
      <Title order={2}>{existing ? t("deploy.editTitle", { name: existing }) : t("deploy.title")}</Title>
      {conflict && (
        <Alert color="orange" role="alert" title={t("deploy.conflictTitle")} data-testid="conflict">
          <Group justify="space-between">
            <Text size="sm">{t("deploy.conflict")}</Text>
            <Button size="xs" onClick={() => { setConflict(false); current.refetch(); }}>
              {t("deploy.reload")}
            </Button>
          </Group>
        </Alert>
      )}
      {elsewhere.length > 0 && <ErrorView error={new ApiError({ status: 400, code: "invalid_deployment", message: t("deploy.problems"), request: "deploy", problems: elsewhere })} compact />}
      {failure && <ErrorView error={failure} />}

      <Section title={t("deploy.part1")} help={t("deploy.part1Help")}>
        <TextInput label={t("deploy.name")} description={t("deploy.nameHelp")} value={draft.name} onChange={(e) => update({ name: e.currentTarget.value })} error={nameError} disabled={!!existing} required data-field="name" />
        {versions.data && (
          <Select
            label={t("deploy.version")}
            data={versions.data.versions.flatMap((v) => [v.version, ...(v.builds ?? []).map((b) => b.version)])}
            value={version || draft.resource?.version || null}
            onChange={(value) => value && url.set({ version: value }, { replace: true })}
            allowDeselect={false}
            w={260}
          />
        )}
        {versionDetail.error && <ErrorView error={versionDetail.error} compact />}
        {draft.resource ? (
          <Paper withBorder p="xs" data-field="resource">
            <Text size="sm">
              <Code>{`${draft.resource.repository}/${draft.resource.group}:${draft.resource.name}:${draft.resource.version}`}</Code>
            </Text>
            <Text size="xs" c="dimmed" style={{ wordBreak: "break-all" }}>
              {draft.resource.path} · {draft.resource.checksum.algorithm} {draft.resource.checksum.value}
            </Text>
            {err("resource") && <Text c="red" size="sm">{err("resource")}</Text>}
          </Paper>
        ) : (
          <Alert color="yellow">{t("deploy.noResource")}</Alert>
        )}
        <Textarea label={t("deploy.description")} value={draft.description} onChange={(e) => update({ description: e.currentTarget.value })} error={err("description")} autosize minRows={1} />
      </Section>

      <Section title={t("deploy.part2")} help={t("deploy.part2Help")}>
        <Autocomplete
          label={t("deploy.image")}
          description={t("deploy.imageHelp")}
          data={(runners.data ?? []).map((r) => ({ value: r.image, label: r.description ? `${r.image} — ${r.description}` : r.image }))}
          value={draft.image}
          onChange={(image) => {
            const runner = runners.data?.find((r) => r.image === image);
            update({ image, ...(runner && !draft.command ? { command: (runner.command ?? []).join("\n"), args: (runner.args ?? []).join("\n") } : {}) });
          }}
          error={err("runner.image")}
          required
          data-field="runner.image"
        />
        <Group grow align="flex-start">
          <Textarea label={t("deploy.command")} description={t("deploy.onePerLine")} value={draft.command} onChange={(e) => update({ command: e.currentTarget.value })} error={err("runner.command")} autosize minRows={2} ff="monospace" data-field="runner.command" />
          <Textarea label={t("deploy.args")} description={t("deploy.onePerLine")} value={draft.args} onChange={(e) => update({ args: e.currentTarget.value })} error={err("runner.args")} autosize minRows={2} ff="monospace" data-field="runner.args" />
        </Group>
        <Group align="flex-start" wrap="wrap">
          <TextInput label={t("deploy.workingDir")} value={draft.workingDir} onChange={(e) => update({ workingDir: e.currentTarget.value })} error={err("runner.workingDir")} data-field="runner.workingDir" w={320} />
          <NumberText label={t("deploy.runAsUser")} description={t("deploy.runAsUserHelp")} value={draft.runAsUser} onChange={(v) => update({ runAsUser: v })} error={err("runner.runAsUser")} min={1} />
        </Group>
        <Stack gap={4}>
          <Text fw={500} size="sm">{t("deploy.env")}</Text>
          {err("runner.env") && <Text c="red" size="sm">{err("runner.env")}</Text>}
          {draft.env.map((e, i) => (
            <Group key={i} align="flex-start" wrap="wrap" data-testid={`env-${i}`}>
              <TextInput aria-label={t("deploy.envName", { n: i + 1 })} placeholder="NAME" value={e.name} onChange={(ev) => setEnv(i, { name: ev.currentTarget.value })} error={err(`runner.env[${i}].name`) ?? err(`runner.env[${i}]`)} w={180} data-field={`runner.env[${i}].name`} />
              <SegmentedControl aria-label={t("deploy.envKind", { n: i + 1 })} value={e.kind} onChange={(kind) => setEnv(i, { kind: kind as "value" | "secret" })} data={[{ value: "value", label: t("deploy.envValue") }, { value: "secret", label: t("deploy.envSecret") }]} />
              {e.kind === "value" ? (
                <TextInput aria-label={t("deploy.envValueOf", { n: i + 1 })} value={e.value} onChange={(ev) => setEnv(i, { value: ev.currentTarget.value })} error={err(`runner.env[${i}].value`)} w={260} data-field={`runner.env[${i}].value`} />
              ) : (
                <>
                  <TextInput aria-label={t("deploy.envSecretName", { n: i + 1 })} placeholder={t("deploy.secretName")} value={e.secretName} onChange={(ev) => setEnv(i, { secretName: ev.currentTarget.value })} error={err(`runner.env[${i}].secret`)} w={160} />
                  <TextInput aria-label={t("deploy.envSecretKey", { n: i + 1 })} placeholder={t("deploy.secretKey")} value={e.secretKey} onChange={(ev) => setEnv(i, { secretKey: ev.currentTarget.value })} w={120} />
                </>
              )}
              <ActionIcon variant="subtle" color="red" aria-label={t("deploy.remove")} onClick={() => update({ env: draft.env.filter((_, j) => j !== i) })} mt={4}>
                <IconTrash size={16} />
              </ActionIcon>
            </Group>
          ))}
          <Group>
            <Button variant="light" size="xs" leftSection={<IconPlus size={14} />} onClick={() => update({ env: [...draft.env, emptyEnv()] })}>
              {t("deploy.addEnv")}
            </Button>
          </Group>
        </Stack>
        <Group align="flex-start" wrap="wrap">
          <TextInput label={t("deploy.cpuRequest")} placeholder="500m" value={draft.cpuRequest} onChange={(e) => update({ cpuRequest: e.currentTarget.value })} error={err("runner.resources.requests.cpu") ?? err("runner.resources")} w={150} />
          <TextInput label={t("deploy.memoryRequest")} placeholder="512Mi" value={draft.memoryRequest} onChange={(e) => update({ memoryRequest: e.currentTarget.value })} error={err("runner.resources.requests.memory")} w={150} />
          <TextInput label={t("deploy.cpuLimit")} placeholder="2" value={draft.cpuLimit} onChange={(e) => update({ cpuLimit: e.currentTarget.value })} error={err("runner.resources.limits.cpu")} w={150} />
          <TextInput label={t("deploy.memoryLimit")} placeholder="2Gi" value={draft.memoryLimit} onChange={(e) => update({ memoryLimit: e.currentTarget.value })} error={err("runner.resources.limits.memory")} w={150} />
        </Group>
      </Section>

      <Section title={t("deploy.part3")} help={t("deploy.part3Help")}>
        <SegmentedControl
          aria-label={t("deploy.kind")}
          value={draft.scheduled ? "cron" : "job"}
          onChange={(kind) => update({ scheduled: kind === "cron", cron: kind === "cron" && !draft.cron ? "0 2 * * *" : draft.cron })}
          data={[{ value: "job", label: t("deploy.kindJob") }, { value: "cron", label: t("deploy.kindCron") }]}
          w="fit-content"
        />
        {err("schedule") && <Text c="red" size="sm">{err("schedule")}</Text>}
        {draft.scheduled && (
          <>
            <CronEditor value={{ cron: draft.cron, timeZone: draft.timeZone }} onChange={(v) => update({ cron: v.cron, timeZone: v.timeZone })} cronError={err("schedule.cron")} zoneError={err("schedule.timeZone")} />
            <Group align="flex-start" wrap="wrap">
              <Select label={t("deploy.concurrency")} data={["Forbid", "Allow", "Replace"].map((v) => ({ value: v, label: t(`deploy.concurrency.${v}` as Key) }))} value={draft.concurrencyPolicy} onChange={(v) => v && update({ concurrencyPolicy: v as Draft["concurrencyPolicy"] })} error={err("schedule.concurrencyPolicy")} allowDeselect={false} w={260} />
              <NumberText label={t("deploy.startingDeadline")} value={draft.startingDeadlineSeconds} onChange={(v) => update({ startingDeadlineSeconds: v })} error={err("schedule.startingDeadlineSeconds")} />
              <NumberText label={t("deploy.successfulLimit")} value={draft.successfulJobsHistoryLimit} onChange={(v) => update({ successfulJobsHistoryLimit: v })} error={err("schedule.successfulJobsHistoryLimit")} />
              <NumberText label={t("deploy.failedLimit")} value={draft.failedJobsHistoryLimit} onChange={(v) => update({ failedJobsHistoryLimit: v })} error={err("schedule.failedJobsHistoryLimit")} />
            </Group>
          </>
        )}
        <Stack gap={4}>
          <Text fw={500} size="sm">{t("deploy.mounts")}</Text>
          {err("mounts") && <Text c="red" size="sm">{err("mounts")}</Text>}
          {draft.mounts.map((m, i) => (
            <Paper key={i} withBorder p="xs" data-testid={`mount-${i}`}>
              <Group align="flex-start" wrap="wrap">
                <TextInput label={t("deploy.mountSource")} placeholder="//server/share" value={m.source} onChange={(e) => setMount(i, { source: e.currentTarget.value })} error={err(`mounts[${i}].source`) ?? err(`mounts[${i}]`)} w={220} />
                <TextInput label={t("deploy.mountPath")} placeholder="/mnt/share" value={m.mountPath} onChange={(e) => setMount(i, { mountPath: e.currentTarget.value })} error={err(`mounts[${i}].mountPath`)} w={180} />
                <TextInput label={t("deploy.mountSubPath")} value={m.subPath} onChange={(e) => setMount(i, { subPath: e.currentTarget.value })} error={err(`mounts[${i}].subPath`)} w={140} />
                <Checkbox label={t("deploy.readOnly")} checked={m.readOnly} onChange={(e) => setMount(i, { readOnly: e.currentTarget.checked })} mt={30} />
                <ActionIcon variant="subtle" color="red" aria-label={t("deploy.remove")} onClick={() => update({ mounts: draft.mounts.filter((_, j) => j !== i) })} mt={28}>
                  <IconTrash size={16} />
                </ActionIcon>
              </Group>
              <Group align="flex-start" mt="xs" wrap="wrap">
                <SegmentedControl aria-label={t("deploy.mountAuth")} value={m.auth} onChange={(auth) => setMount(i, { auth: auth as "inline" | "secret" })} data={[{ value: "inline", label: t("deploy.mountInline") }, { value: "secret", label: t("deploy.mountSecret") }]} />
                {m.auth === "inline" ? (
                  <>
                    <TextInput aria-label={t("deploy.username")} placeholder={t("deploy.username")} value={m.username} onChange={(e) => setMount(i, { username: e.currentTarget.value })} error={err(`mounts[${i}].credentials.username`) ?? err(`mounts[${i}].credentials`)} w={160} />
                    <PasswordInput aria-label={t("deploy.password")} placeholder={t("deploy.password")} value={m.password} onChange={(e) => setMount(i, { password: e.currentTarget.value })} error={err(`mounts[${i}].credentials.password`)} w={160} autoComplete="new-password" />
                    <TextInput aria-label={t("deploy.domain")} placeholder={t("deploy.domain")} value={m.domain} onChange={(e) => setMount(i, { domain: e.currentTarget.value })} w={140} />
                  </>
                ) : (
                  <TextInput aria-label={t("deploy.secretName")} placeholder={t("deploy.secretName")} value={m.secretName} onChange={(e) => setMount(i, { secretName: e.currentTarget.value })} error={err(`mounts[${i}].secretName`)} description={existing && m.secretName ? t("deploy.passwordKept") : undefined} w={240} />
                )}
              </Group>
            </Paper>
          ))}
          <Group>
            <Button variant="light" size="xs" leftSection={<IconPlus size={14} />} onClick={() => update({ mounts: [...draft.mounts, emptyMount()] })}>
              {t("deploy.addMount")}
            </Button>
          </Group>
        </Stack>
        <Group align="flex-start" wrap="wrap">
          <NumberText label={t("deploy.backoffLimit")} value={draft.backoffLimit} onChange={(v) => update({ backoffLimit: v })} error={err("backoffLimit")} />
          <NumberText label={t("deploy.activeDeadline")} value={draft.activeDeadlineSeconds} onChange={(v) => update({ activeDeadlineSeconds: v })} error={err("activeDeadlineSeconds")} />
          <NumberText label={t("deploy.ttl")} value={draft.ttlSecondsAfterFinished} onChange={(v) => update({ ttlSecondsAfterFinished: v })} error={err("ttlSecondsAfterFinished")} />
        </Group>
      </Section>

      <Section title={t("deploy.part4")} help={t("deploy.part4Help")}>
        <Group>
          <Button variant="default" onClick={() => submit("check")} loading={busy === "check"} disabled={busy !== null}>
            {t("deploy.check")}
          </Button>
          <Button onClick={() => submit("deploy")} loading={busy === "deploy"} disabled={busy !== null || !draft.resource || !!nameError}>
            {existing ? t("deploy.saveChange") : t("deploy.deploy")}
          </Button>
          {checked && problems.length === 0 && <Badge color="green">{t("deploy.checkOk")}</Badge>}
          {loadedFrom && <Text size="xs" c="dimmed">{t("deploy.overRevision", { revision: loadedFrom.revision })}</Text>}
        </Group>
        {preview && (
          <Stack gap={4}>
            {(preview.warnings ?? []).map((w) => (
              <Alert key={w} color="yellow">{w}</Alert>
            ))}
            {/* The local runtime makes no Kubernetes objects: then the spec as the deployer keeps it. */}
            <Text fw={500} size="sm">{preview.objects.length > 0 ? t("deploy.yaml") : t("deploy.yamlSpec")}</Text>
            <pre className="jo-pane jo-code" data-testid="dry-run-yaml" tabIndex={0} aria-label={preview.objects.length > 0 ? t("deploy.yaml") : t("deploy.yamlSpec")}>
              {preview.objects.length > 0 ? preview.objects.map((o) => toYaml(o)).join("\n---\n") : toYaml(preview.spec)}
            </pre>
          </Stack>
        )}
      </Section>
    </Stack>
  );
}

function Section({ title, help, children }: { title: string; help: string; children: ReactNode }) {
  return (
    <Paper withBorder p="md" component="section" aria-label={title}>
      <Stack gap="sm">
        <div>
          <Title order={3} size="h4">{title}</Title>
          <Text size="sm" c="dimmed">{help}</Text>
        </div>
        {children}
      </Stack>
    </Paper>
  );
}

function NumberText({ label, description, value, onChange, error, min = 0 }: { label: string; description?: string; value: string; onChange: (value: string) => void; error?: string; min?: number }) {
  return <NumberInput label={label} description={description} value={value === "" ? "" : Number(value)} onChange={(v) => onChange(v === "" ? "" : String(v))} error={error} allowDecimal={false} min={min} w={200} />;
}
