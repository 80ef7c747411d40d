// The forms of the deployments' actions (actions.tsx opens them in dialogs), loaded when one is
// first opened.
import { Alert, Button, Code, CopyButton, Group, List, Stack, Text, Textarea, TextInput } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { fetchRaw } from "../../api/client";
import { ErrorView } from "../../components/ErrorView";
import { useT } from "../../i18n";
import type { Outcome } from "./actions";

export function Outcomes({ outcomes }: { outcomes: Outcome[] }) {
  const t = useT();
  const failed = outcomes.filter((o) => o.error);
  return (
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
  );
}

export function SuspendForm({ names, onDone }: { names: string[]; onDone: (reason: string) => void }) {
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

export function DeleteForm({ names, onDone }: { names: string[]; onDone: () => void }) {
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

export function RunForm({ onDone }: { onDone: (env: { name: string; value: string }[], args: string[] | null) => void }) {
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

export function AirflowDag({ name }: { name: string }) {
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
