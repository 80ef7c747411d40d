// One deployment: its spec, its revisions (a diff of any two, rollback), its runs, its history
// (the history page filtered on it) and the external tools. The tab and the compared revisions
// are in the URL.
import { Alert, Anchor, Badge, Button, Checkbox, Code, Group, Stack, Table, Tabs, Text, Title } from "@mantine/core";
import { modals } from "@mantine/modals";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { DataTable } from "mantine-datatable";
import { Link, useNavigate, useParams } from "react-router";
import { call, deployerApi, gatewayApi } from "../api/client";
import { useCanOperate } from "../auth";
import { ErrorView, FullPageLoader } from "../components/ErrorView";
import { ContainerBadge, RunBadge, StateBadge } from "../components/StateBadges";
import { cronInWords } from "../features/cron/words";
import { useDeploymentActions } from "../features/deploy/actions";
import { diffLines } from "../features/deploy/diff";
import { toYaml } from "../features/deploy/draft";
import { useI18n } from "../i18n";
import { Countdown, formatDuration, Time } from "../time";
import { useUrlState } from "../url";

export default function DeploymentPage() {
  const { t, language } = useI18n();
  const { name = "" } = useParams();
  const url = useUrlState();
  const navigate = useNavigate();
  const client = useQueryClient();
  const canOperate = useCanOperate();
  const actions = useDeploymentActions();
  const tab = url.get("tab", "spec");
  const path = { params: { path: { name } } };
  const detail = useQuery({
    queryKey: ["deployments", name],
    queryFn: () => call(`GET /api/deployments/${name}`, deployerApi.GET("/api/deployments/{name}", path)),
    refetchInterval: 5_000,
  });
  const runs = useQuery({
    queryKey: ["deployments", name, "runs"],
    queryFn: () => call(`GET /api/deployments/${name}/runs`, deployerApi.GET("/api/deployments/{name}/runs", path)),
    refetchInterval: 5_000,
    enabled: tab === "runs" || tab === "spec",
  });
  const revisions = useQuery({
    queryKey: ["deployments", name, "revisions"],
    queryFn: () => call(`GET /api/deployments/${name}/revisions`, deployerApi.GET("/api/deployments/{name}/revisions", path)),
    enabled: tab === "revisions",
  });
  const links = useQuery({ queryKey: ["links"], queryFn: () => call("GET /api/links", gatewayApi.GET("/api/links")), staleTime: 600_000, enabled: tab === "links" });

  if (detail.isPending) return <FullPageLoader />;
  if (detail.error) return <ErrorView error={detail.error} onRetry={() => detail.refetch()} />;
  const d = detail.data;
  const cron = d.type === "CronJob";
  const compare = [url.getNumber("a", 0), url.getNumber("b", 0)].filter((n) => n > 0);
  const toggleCompare = (revision: number) => {
    const next = compare.includes(revision) ? compare.filter((n) => n !== revision) : [...compare, revision].slice(-2);
    url.set({ a: next[0] ?? null, b: next[1] ?? null }, { replace: true });
  };
  const rollback = (revision: number) =>
    modals.openConfirmModal({
      title: t("deployment.rollbackTitle", { revision }),
      children: <Text size="sm">{t("deployment.rollbackText", { name, revision })}</Text>,
      labels: { confirm: t("deployment.rollback"), cancel: t("common.cancel") },
      onConfirm: async () => {
        try {
          await call("rollback", deployerApi.POST("/api/deployments/{name}/revisions/{revision}/rollback", { params: { path: { name, revision } } }));
          notifications.show({ color: "green", message: t("deployment.rolledBack", { revision }) });
        } catch (error) {
          notifications.show({ color: "red", message: error instanceof Error ? error.message : String(error) });
        }
        await client.invalidateQueries({ queryKey: ["deployments", name] });
      },
    });
  const byRevision = new Map((revisions.data ?? []).map((r) => [r.revision, r]));
  const [older, newer] = [...compare].sort((x, y) => x - y).map((n) => byRevision.get(n));

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <Group gap="sm">
          <Title order={2}>{d.name}</Title>
          <StateBadge state={d.state} />
          <ContainerBadge state={d.containerState} />
          <Badge variant="outline">{d.type}</Badge>
          <Text size="sm" c="dimmed">{t("deployment.revision", { revision: d.revision })}</Text>
        </Group>
        <Group gap="xs" wrap="wrap">
          <Button variant="default" component={Link} to={`/deployments/${encodeURIComponent(name)}/logs`}>{t("actions.logs")}</Button>
          <Button variant="default" onClick={() => actions.airflow(name)}>{t("actions.airflow")}</Button>
          {canOperate && (
            <>
              {cron && <Button variant="default" onClick={() => actions.runNow(name)}>{t("actions.run")}</Button>}
              {cron && !d.suspended && <Button variant="default" onClick={() => actions.suspend([name])}>{t("actions.suspend")}</Button>}
              {cron && d.suspended && <Button variant="default" onClick={() => actions.resume([name])}>{t("actions.resume")}</Button>}
              <Button variant="default" component={Link} to={`/deployments/${encodeURIComponent(name)}/edit`}>{t("actions.edit")}</Button>
              <Button color="red" variant="light" onClick={() => actions.remove([name], () => navigate("/deployments"))}>{t("actions.delete")}</Button>
            </>
          )}
        </Group>
      </Group>
      {d.suspended && (
        <Alert color="yellow" data-testid="suspended">
          {t("deployment.suspended")}
          {d.suspendReason ? `: ${d.suspendReason}` : ""}
        </Alert>
      )}
      {(d.warnings ?? []).map((w) => (
        <Alert key={w} color="gray">{w}</Alert>
      ))}
      <Table withTableBorder variant="vertical" layout="fixed" maw={900}>
        <Table.Tbody>
          <Row label={t("deployments.resource")}><Code>{d.resource}</Code></Row>
          <Row label={t("deployments.image")}><Code>{d.image}</Code></Row>
          {d.schedule && (
            <Row label={t("deployments.schedule")}>
              <Code>{d.schedule}</Code> · {cronInWords(d.schedule, language)} · {d.timeZone ?? "UTC"}
            </Row>
          )}
          <Row label={t("deployments.lastRun")}><Time value={d.lastRun} /></Row>
          {d.lastFailure && <Row label={t("deployments.failure")}><Text span c="red" size="sm">{d.lastFailure}</Text></Row>}
          {d.nextRun && (
            <Row label={t("deployments.nextRun")}>
              <span data-testid="next-run"><Time value={d.nextRun} /> (<Countdown to={d.nextRun} />)</span>
            </Row>
          )}
          <Row label={t("deployments.owner")}>{d.owner ?? "—"}</Row>
          <Row label={t("deployments.deployedAt")}><Time value={d.deployedAt} /> {d.deployedBy ? `· ${d.deployedBy}` : ""}</Row>
          {d.description && <Row label={t("deploy.description")}>{d.description}</Row>}
        </Table.Tbody>
      </Table>

      <Tabs value={tab} onChange={(value) => url.set({ tab: value === "spec" ? null : value })} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="spec">{t("deployment.tabSpec")}</Tabs.Tab>
          <Tabs.Tab value="runs">{t("deployment.tabRuns")}</Tabs.Tab>
          <Tabs.Tab value="revisions">{t("deployment.tabRevisions")}</Tabs.Tab>
          <Tabs.Tab value="history">{t("deployment.tabHistory")}</Tabs.Tab>
          <Tabs.Tab value="links">{t("deployment.tabLinks")}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="spec" pt="sm">
          <pre className="jo-pane jo-code" tabIndex={0} aria-label={t("deployment.tabSpec")}>{toYaml(d.spec ?? {})}</pre>
        </Tabs.Panel>
        <Tabs.Panel value="runs" pt="sm">
          {runs.error && <ErrorView error={runs.error} onRetry={() => runs.refetch()} />}
          <div className="jo-scroll-x">
            <DataTable
              withTableBorder
              striped
              minHeight={120}
              records={[...(runs.data ?? [])].sort((a, b) => (b.startedAt ?? "").localeCompare(a.startedAt ?? ""))}
              idAccessor="name"
              noRecordsText={t("deployment.noRuns")}
              columns={[
                { accessor: "name", title: t("deployment.run"), render: (r) => <Anchor component={Link} to={`/deployments/${encodeURIComponent(name)}/logs?run=${encodeURIComponent(r.name)}`}>{r.name}</Anchor> },
                { accessor: "state", title: t("deployments.state"), render: (r) => <RunBadge state={r.state} /> },
                { accessor: "startedAt", title: t("deployment.start"), render: (r) => <Time value={r.startedAt} /> },
                { accessor: "finishedAt", title: t("deployment.end"), render: (r) => <Time value={r.finishedAt} /> },
                { accessor: "duration", title: t("deployment.duration"), render: (r) => (r.startedAt && r.finishedAt ? formatDuration((new Date(r.finishedAt).getTime() - new Date(r.startedAt).getTime()) / 1000) : "—") },
                { accessor: "exitCode", title: t("deployment.exitCode"), render: (r) => r.exitCode ?? "—" },
                { accessor: "failureReason", title: t("deployments.failure"), render: (r) => (r.failureReason ? <Text c="red" size="sm">{r.failureReason}</Text> : "") },
                { accessor: "triggeredBy", title: t("deployment.startedBy"), render: (r) => `${r.manual ? t("deployment.byHand") : t("deployment.bySchedule")}${r.triggeredBy ? ` · ${r.triggeredBy}` : ""}` },
              ]}
            />
          </div>
        </Tabs.Panel>
        <Tabs.Panel value="revisions" pt="sm">
          {revisions.error && <ErrorView error={revisions.error} onRetry={() => revisions.refetch()} />}
          <Text size="sm" c="dimmed" mb="xs">{t("deployment.compareHelp")}</Text>
          <DataTable
            withTableBorder
            minHeight={120}
            records={revisions.data ?? []}
            idAccessor="revision"
            columns={[
              { accessor: "compare", title: t("deployment.compare"), render: (r) => <Checkbox aria-label={t("deployment.compareOne", { revision: r.revision })} checked={compare.includes(r.revision)} onChange={() => toggleCompare(r.revision)} /> },
              { accessor: "revision", title: "#" },
              { accessor: "change", title: t("deployment.change") },
              { accessor: "author", title: t("deployment.author") },
              { accessor: "at", title: t("deployment.at"), render: (r) => <Time value={r.at} /> },
              {
                accessor: "rollback",
                title: "",
                render: (r) => (canOperate && r.revision !== d.revision ? <Button size="xs" variant="light" onClick={() => rollback(r.revision)}>{t("deployment.rollbackTo", { revision: r.revision })}</Button> : null),
              },
            ]}
          />
          {older && newer && (
            <Stack gap={4} mt="sm">
              <Text fw={500} size="sm">{t("deployment.diff", { a: older.revision, b: newer.revision })}</Text>
              <pre className="jo-pane jo-code" tabIndex={0} data-testid="revision-diff" aria-label={t("deployment.diff", { a: older.revision, b: newer.revision })}>
                {diffLines(toYaml(older.spec ?? {}), toYaml(newer.spec ?? {})).map((line, i) => (
                  <div key={i} className={line.kind === "add" ? "jo-diff-add" : line.kind === "del" ? "jo-diff-del" : undefined}>
                    {line.kind === "add" ? "+ " : line.kind === "del" ? "- " : "  "}
                    {line.text}
                  </div>
                ))}
              </pre>
            </Stack>
          )}
        </Tabs.Panel>
        <Tabs.Panel value="history" pt="sm">
          <Stack gap="xs">
            <Text size="sm">{t("deployment.historyHelp")}</Text>
            <Group>
              <Button component={Link} to={`/history?q=${encodeURIComponent(`groupId=="${name}"`)}`}>{t("deployment.openHistory")}</Button>
            </Group>
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="links" pt="sm">
          {links.data && links.data.length === 0 && <Text size="sm">{t("deployment.noLinks")}</Text>}
          <Stack gap={4}>
            {(links.data ?? []).map((l) => (
              <Anchor key={l.name} href={l.url} target="_blank" rel="noopener noreferrer">
                {l.name} — {l.description}
              </Anchor>
            ))}
          </Stack>
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Table.Tr>
      <Table.Th w={180}>{label}</Table.Th>
      <Table.Td>{children}</Table.Td>
    </Table.Tr>
  );
}
