// What an operator does to a deployment, from the list (one or several rows) or its page: run now
// (with one-off env and args), suspend with a reason, resume, the Airflow DAG, delete (confirmed by
// typing the name). Each asks the deployer and says what happened, item by item.
import { Alert, Button, Code, CopyButton, Group, List, Stack, Text, Textarea, TextInput } from "@mantine/core";
import { modals } from "@mantine/modals";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError, call, deployerApi, fetchRaw } from "../../api/client";
import { ErrorView } from "../../components/ErrorView";
import { useT, type Translate } from "../../i18n";

export type Action = "suspend" | "resume" | "delete" | "run";

export async function perform(action: Action, name: string, body?: { reason?: string; env?: { name: string; value: string }[]; args?: string[] | null }) {
  const path = { params: { path: { name } } };
  switch (action) {
    case "suspend":
      return call(`POST /api/deployments/${name}/suspend`, deployerApi.POST("/api/deployments/{name}/suspend", { ...path, body: { reason: body?.reason || null } }));
    case "resume":
      return call(`POST /api/deployments/${name}/resume`, deployerApi.POST("/api/deployments/{name}/resume", path));
    case "run":
      return call(`POST /api/deployments/${name}/run`, deployerApi.POST("/api/deployments/{name}/run", { ...path, body: { env: body?.env ?? [], args: body?.args ?? null } }));
    case "delete":
      return call(`DELETE /api/deployments/${name}`, deployerApi.DELETE("/api/deployments/{name}", path));
  }
}

export interface Outcome {
  name: string;
  error: ApiError | null;
}

/** Does `action` on each name in turn, collecting each result (one failure does not stop the others). */
export async function performAll(action: Action, names: string[], body?: { reason?: string }): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const name of names) {
    try {
      await perform(action, name, body);
      outcomes.push({ name, error: null });
    } catch (error) {
      outcomes.push({ name, error: error instanceof ApiError ? error : new ApiError({ status: 0, code: "unreachable", message: String(error), request: action }) });
    }
  }
  return outcomes;
}

function showOutcomes(t: Translate, action: Action, outcomes: Outcome[]) {
  const failed = outcomes.filter((o) => o.error);
  modals.open({
    title: t("actions.results", { action: t(`actions.${action}`) }),
    children: (
      <Stack data-testid="bulk-results">
        <Text size="sm">{t("actions.resultCount", { ok: outcomes.length - failed.length, failed: failed.length })}</Text>
        <List spacing={4}>
          {outcomes.map((o) => (
            <List.Item key={o.name}>
              <Code>{o.name}</Code>: {o.error ? <Text span c="red">{o.error.message}</Text> : <Text span c="green">{t("actions.done")}</Text>}
            </List.Item>
          ))}
        </List>
      </Stack>
    ),
  });
}

export function useDeploymentActions() {
  const t = useT();
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: ["deployments"] });

  const run = async (action: Action, names: string[], body?: { reason?: string; env?: { name: string; value: string }[]; args?: string[] | null }) => {
    if (names.length === 1 && names[0]) {
      try {
        await perform(action, names[0], body);
        notifications.show({ color: "green", message: t(`actions.${action}Done`, { name: names[0] }) });
      } catch (error) {
        notifications.show({ color: "red", title: t(`actions.${action}`), message: error instanceof Error ? error.message : String(error) });
      }
    } else {
      showOutcomes(t, action, await performAll(action, names, body));
    }
    await refresh();
  };

  return {
    suspend: (names: string[]) =>
      modals.open({
        title: t("actions.suspendTitle", { count: names.length }),
        children: <SuspendForm names={names} onDone={(reason) => { modals.closeAll(); void run("suspend", names, { reason }); }} />,
      }),
    resume: (names: string[]) =>
      names.length === 1
        ? void run("resume", names)
        : modals.openConfirmModal({
            title: t("actions.resumeTitle", { count: names.length }),
            children: <Text size="sm">{names.join(", ")}</Text>,
            labels: { confirm: t("actions.resume"), cancel: t("common.cancel") },
            onConfirm: () => void run("resume", names),
          }),
    remove: (names: string[], after?: () => void) =>
      modals.open({
        title: t("actions.deleteTitle", { count: names.length }),
        children: <DeleteForm names={names} onDone={() => { modals.closeAll(); void run("delete", names).then(after); }} />,
      }),
    runNow: (name: string) =>
      modals.open({
        title: t("actions.runTitle", { name }),
        size: "lg",
        children: <RunForm onDone={(env, args) => { modals.closeAll(); void run("run", [name], { env, args }); }} />,
      }),
    airflow: (name: string) => modals.open({ title: t("actions.airflowTitle", { name }), size: "xl", children: <AirflowDag name={name} /> }),
  };
}

function SuspendForm({ names, onDone }: { names: string[]; onDone: (reason: string) => void }) {
  const t = useT();
  const [reason, setReason] = useState("");
  return (
    <Stack>
      <Text size="sm">{names.join(", ")}</Text>
      <Textarea label={t("actions.reason")} description={t("actions.reasonHelp")} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-autofocus />
      <Group justify="flex-end">
        <Button onClick={() => onDone(reason)}>{t("actions.suspend")}</Button>
      </Group>
    </Stack>
  );
}

function DeleteForm({ names, onDone }: { names: string[]; onDone: () => void }) {
  const t = useT();
  const [typed, setTyped] = useState("");
  const expected = names.length === 1 ? names[0]! : String(names.length);
  return (
    <Stack>
      <Alert color="red">{t("actions.deleteWarning")}</Alert>
      <Text size="sm">{names.join(", ")}</Text>
      <TextInput label={names.length === 1 ? t("actions.typeName", { name: expected }) : t("actions.typeCount", { count: expected })} value={typed} onChange={(e) => setTyped(e.currentTarget.value)} data-autofocus />
      <Group justify="flex-end">
        <Button color="red" disabled={typed !== expected} onClick={onDone}>
          {t("actions.delete")}
        </Button>
      </Group>
    </Stack>
  );
}

function RunForm({ onDone }: { onDone: (env: { name: string; value: string }[], args: string[] | null) => void }) {
  const t = useT();
  const [env, setEnv] = useState("");
  const [args, setArgs] = useState("");
  const parsed = env
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const at = l.indexOf("=");
      return at > 0 ? { name: l.slice(0, at).trim(), value: l.slice(at + 1) } : { name: l, value: "" };
    });
  return (
    <Stack>
      <Textarea label={t("actions.runEnv")} description={t("actions.runEnvHelp")} placeholder="GREETING=hello" value={env} onChange={(e) => setEnv(e.currentTarget.value)} autosize minRows={2} ff="monospace" data-autofocus />
      <Textarea label={t("actions.runArgs")} description={t("actions.runArgsHelp")} value={args} onChange={(e) => setArgs(e.currentTarget.value)} autosize minRows={1} ff="monospace" />
      <Group justify="flex-end">
        <Button onClick={() => onDone(parsed, args.trim() ? args.split("\n").map((a) => a.trim()).filter(Boolean) : null)}>{t("actions.run")}</Button>
      </Group>
    </Stack>
  );
}

function AirflowDag({ name }: { name: string }) {
  const t = useT();
  const dag = useQuery({
    queryKey: ["airflow", name],
    queryFn: async () => (await fetchRaw(`/api/deployments/${encodeURIComponent(name)}/airflow`)).text(),
  });
  if (dag.error) return <ErrorView error={dag.error} onRetry={() => dag.refetch()} />;
  const download = () => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([dag.data ?? ""], { type: "text/x-python" }));
    link.download = `${name.replace(/-/g, "_")}.py`;
    link.click();
    URL.revokeObjectURL(link.href);
  };
  return (
    <Stack>
      <Group>
        <CopyButton value={dag.data ?? ""}>{({ copied, copy }) => <Button variant="light" onClick={copy} disabled={!dag.data}>{copied ? t("common.copied") : t("common.copy")}</Button>}</CopyButton>
        <Button variant="light" onClick={download} disabled={!dag.data}>{t("common.download")}</Button>
      </Group>
      <pre className="jo-pane jo-code" tabIndex={0} aria-label={t("actions.airflowTitle", { name })} data-testid="airflow-dag">
        {dag.data ?? t("common.loading")}
      </pre>
    </Stack>
  );
}
