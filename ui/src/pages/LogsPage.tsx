// A deployment's logs: any run (the latest by default), its fetch or runner container, its previous
// attempt; live from the pod, or from the history's archive once the pod is gone.
import { Anchor, Group, SegmentedControl, Select, Stack, Switch, Title } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo } from "react";
import { Link, useParams } from "react-router";
import { call, deployerApi } from "../api/client";
import { ErrorView } from "../components/ErrorView";
import { RunBadge } from "../components/StateBadges";
import { LogViewer } from "../features/logs/LogViewer";
import { archivedSource, liveSource } from "../features/logs/sources";
import { useI18n } from "../i18n";
import { formatTime, useTimeZone } from "../time";
import { useUrlState } from "../url";

export default function LogsPage() {
  const { t, language } = useI18n();
  const { zone } = useTimeZone();
  const { name = "" } = useParams();
  const url = useUrlState();
  const client = useQueryClient();
  const runs = useQuery({
    queryKey: ["deployments", name, "runs"],
    queryFn: () => call(`GET /api/deployments/${name}/runs`, deployerApi.GET("/api/deployments/{name}/runs", { params: { path: { name } } })),
    refetchInterval: 5_000,
  });
  const sorted = [...(runs.data ?? [])].sort((a, b) => (b.startedAt ?? "").localeCompare(a.startedAt ?? "") || b.name.localeCompare(a.name));
  const runName = url.get("run") || sorted[0]?.name || "";
  const run = sorted.find((r) => r.name === runName);
  const container = url.get("container", "runner");
  const previous = url.get("previous") === "1";

  const running = run ? run.state === "Running" || run.state === "Pending" : false;
  // The pod's log while the deployer has it, else the history's archive; once the runs are known
  // (whether the run goes on decides whether its log is followed).
  const known = runs.data !== undefined || runs.isError;
  const sources = useMemo(
    () => (runName && known ? [liveSource(name, { run: runName, container, previous }, running), archivedSource(runName, { container, previous })] : []),
    [name, runName, container, previous, running, known],
  );

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <Title order={2}>
          {t("logs.title")} · <Anchor component={Link} to={`/deployments/${encodeURIComponent(name)}`}>{name}</Anchor>
        </Title>
        {run && <RunBadge state={run.state} />}
      </Group>
      {runs.error && <ErrorView error={runs.error} onRetry={() => runs.refetch()} />}
      <Group wrap="wrap" align="flex-end">
        <Select
          label={t("logs.run")}
          data={sorted.map((r) => ({ value: r.name, label: `${r.name} · ${r.startedAt ? formatTime(r.startedAt, zone, language) : "—"} · ${t(`run.${r.state}`)}` }))}
          value={runName || null}
          onChange={(value) => url.set({ run: value, grep: null, match: null })}
          allowDeselect={false}
          w={420}
          maw="100%"
          searchable
        />
        <SegmentedControl aria-label={t("logs.container")} value={container} onChange={(value) => url.set({ container: value === "runner" ? null : value, grep: null, match: null })} data={[{ value: "runner", label: t("logs.runner") }, { value: "fetch", label: t("logs.fetch") }]} />
        <Switch label={t("logs.previous")} checked={previous} onChange={(e) => url.set({ previous: e.currentTarget.checked ? 1 : null })} />
      </Group>
      {runs.data && sorted.length === 0 ? <ErrorView error={new Error(t("logs.noRuns"))} /> : null}
      {sources.length > 0 && (
        <LogViewer
          sources={sources}
          fileName={`${runName}-${container}${previous ? "-previous" : ""}.log`}
          // The run's end, seen in its log: the header and the run picker say it at once.
          onRunEnded={() => void client.invalidateQueries({ queryKey: ["deployments", name, "runs"] })}
        />
      )}
    </Stack>
  );
}
