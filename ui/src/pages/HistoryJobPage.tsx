// One run in the history: every field, its statuses on a time line, its algorithms and
// parameters; its log; soft delete for operators.
import { Alert, Anchor, Badge, Button, Group, Stack, Table, Text, Timeline, Title } from "@mantine/core";
import { modals } from "@mantine/modals";
import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { call, historyApi } from "../api/client";
import { useCanOperate } from "../auth";
import { ErrorView, FullPageLoader } from "../components/ErrorView";
import { useI18n } from "../i18n";
import { formatDuration, Time } from "../time";

const TIMES = new Set(["submissionTime", "endTime", "lastModifiedTime"]);

export default function HistoryJobPage() {
  const { t, apiLocale } = useI18n();
  const { jobId = "" } = useParams();
  const canOperate = useCanOperate();
  const job = useQuery({
    queryKey: ["history", "job", jobId, apiLocale],
    queryFn: () => call(`GET /api/history/${jobId}`, historyApi.GET("/api/history/{jobId}", { params: { path: { jobId }, query: { showParam: true, locale: apiLocale } } })),
  });
  if (job.isPending) return <FullPageLoader />;
  if (job.error) return <ErrorView error={job.error} onRetry={() => job.refetch()} />;
  const j = job.data;
  const remove = () =>
    modals.openConfirmModal({
      title: t("history.deleteTitle", { id: j.jobId }),
      children: <Text size="sm">{t("history.deleteText")}</Text>,
      labels: { confirm: t("actions.delete"), cancel: t("common.cancel") },
      confirmProps: { color: "red" },
      onConfirm: async () => {
        await call("DELETE", historyApi.DELETE("/api/history/{jobId}", { params: { path: { jobId } } }));
        await job.refetch();
      },
    });
  const fields = Object.entries(j).filter(([key]) => key !== "algorithms" && key !== "statusHistory");
  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <Title order={2}>{j.jobId}</Title>
        <Group>
          {j.groupId && (
            <Button variant="default" component={Link} to={`/deployments/${encodeURIComponent(j.groupId)}/logs?run=${encodeURIComponent(j.jobId)}`}>
              {t("actions.logs")}
            </Button>
          )}
          {canOperate && !j.isDeleted && (
            <Button color="red" variant="light" onClick={remove}>
              {t("history.delete")}
            </Button>
          )}
        </Group>
      </Group>
      {j.isDeleted && <Alert color="gray">{t("history.deletedText")}</Alert>}
      <Group align="flex-start" wrap="wrap" gap="xl">
        <Table withTableBorder variant="vertical" maw={640} layout="fixed">
          <Table.Tbody>
            {fields.map(([key, value]) => (
              <Table.Tr key={key}>
                <Table.Th w={220}>{key}</Table.Th>
                <Table.Td style={{ wordBreak: "break-all" }}>
                  {value === null || value === undefined ? "—" : TIMES.has(key) ? <Time value={value as string} /> : key === "wallclockTime" ? formatDuration(Number(value)) : Array.isArray(value) ? value.join(", ") : String(value)}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <Stack>
          <Title order={3} size="h4">{t("history.statuses")}</Title>
          <Timeline active={j.statusHistory.length - 1} bulletSize={16} lineWidth={2}>
            {j.statusHistory.map((s) => (
              <Timeline.Item key={`${s.status}-${s.timestamp}`} title={s.status}>
                <Text size="xs" c="dimmed"><Time value={s.timestamp} /></Text>
              </Timeline.Item>
            ))}
          </Timeline>
        </Stack>
      </Group>
      <Title order={3} size="h4">{t("history.algorithms")}</Title>
      {j.algorithms.map((a) => (
        <Stack key={a.algorithmId} gap={4}>
          <Group gap="xs">
            <Badge>{a.algorithmName ?? a.algorithmId}</Badge>
            <Text size="sm">{a.algorithmVersion}</Text>
          </Group>
          <Table withTableBorder striped maw={900}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>parameterId</Table.Th>
                <Table.Th>label</Table.Th>
                <Table.Th>type</Table.Th>
                <Table.Th>value</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(a.parameters ?? []).map((p) => (
                <Table.Tr key={p.parameterId}>
                  <Table.Td>{p.parameterId}</Table.Td>
                  <Table.Td>{p.label}</Table.Td>
                  <Table.Td>{p.type}</Table.Td>
                  <Table.Td ff="monospace">{p.value.join(", ")}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Stack>
      ))}
      <Anchor component={Link} to={`/history?q=${encodeURIComponent(`groupId=="${j.groupId ?? ""}"`)}`}>
        {t("history.sameGroup")}
      </Anchor>
    </Stack>
  );
}
