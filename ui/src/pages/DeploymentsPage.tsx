// The deployments (the original tool's "Listing jobs"): state, containers, schedule in cron, in
// words and with its zone, last and next run (counting down), owner. Filters, sort and page live in
// the URL; rows are selected for suspend, resume or delete with a result per item. The list
// refreshes itself while the page is visible. Viewers are not offered what they may not do.
import { ActionIcon, Anchor, Button, Group, Menu, Select, Stack, Text, Title } from "@mantine/core";
import { IconDots, IconPlayerPause, IconPlayerPlay, IconTrash } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { DataTable, type DataTableSortStatus } from "mantine-datatable";
import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { listAllDeployments, type Deployer } from "../api/client";
import { useCanOperate } from "../auth";
import { ErrorView } from "../components/ErrorView";
import { FilterInput } from "../components/FilterInput";
import { ContainerBadge, StateBadge } from "../components/StateBadges";
import { cronInWords } from "../features/cron/words";
import { useDeploymentActions } from "../features/deploy/actions";
import { useI18n, type Key } from "../i18n";
import { Countdown, Time } from "../time";
import { useUrlState } from "../url";

type Summary = Deployer["DeploymentSummary"];
const SORTABLE = ["name", "deployedAt", "lastRun", "nextRun", "state", "containerState", "owner", "type"] as const;
// A page of rows at a time: a list of 1,000 shows in well under a second (ui/scripts/bench.mjs).
const PAGE_SIZES = [25, 50, 100];

export function sortDeployments(rows: Summary[], column: string, descending: boolean): Summary[] {
  const key = (SORTABLE as readonly string[]).includes(column) ? (column as keyof Summary) : "name";
  const sorted = [...rows].sort((a, b) => {
    const x = a[key] ?? "";
    const y = b[key] ?? "";
    return String(x).localeCompare(String(y)) || a.name.localeCompare(b.name);
  });
  return descending ? sorted.reverse() : sorted;
}

export default function DeploymentsPage() {
  const { t, language } = useI18n();
  const url = useUrlState();
  const canOperate = useCanOperate();
  const actions = useDeploymentActions();
  const type = url.get("type");
  const state = url.get("state");
  const owner = url.get("owner");
  const q = url.get("q");
  const sort = url.get("sort", "name");
  const descending = url.get("desc") === "1";
  const page = url.getNumber("page", 1);
  const size = PAGE_SIZES.includes(url.getNumber("size", 50)) ? url.getNumber("size", 50) : 50;
  const [selected, setSelected] = useState<Summary[]>([]);

  const list = useQuery({
    queryKey: ["deployments", type, state, owner],
    queryFn: () =>
      listAllDeployments({ type: (type || undefined) as Deployer["WorkloadKind"] | undefined, state: (state || undefined) as Deployer["DeploymentState"] | undefined, owner: owner || undefined }),
    refetchInterval: 5_000,
    placeholderData: (previous) => previous,
  });
  const rows = useMemo(() => {
    const all = (list.data?.deployments ?? []) as Summary[];
    const needle = q.toLowerCase();
    const filtered = needle ? all.filter((d) => `${d.name} ${d.resource} ${d.image} ${d.description ?? ""}`.toLowerCase().includes(needle)) : all;
    return sortDeployments(filtered, sort, descending);
  }, [list.data, q, sort, descending]);
  const shown = rows.slice((page - 1) * size, page * size);
  const names = selected.map((s) => s.name);
  const sortStatus: DataTableSortStatus<Summary> = { columnAccessor: sort, direction: descending ? "desc" : "asc" };

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t("deployments.title")}</Title>
        {canOperate && (
          <Button component={Link} to="/catalog">
            {t("deployments.new")}
          </Button>
        )}
      </Group>
      <Group align="flex-end" wrap="wrap">
        <FilterInput label={t("deployments.search")} value={q} onChange={(value) => url.set({ q: value, page: null }, { replace: true })} />
        <Select label={t("deployments.type")} data={[{ value: "Job", label: "Job" }, { value: "CronJob", label: "CronJob" }]} value={type || null} onChange={(v) => url.set({ type: v, page: null })} clearable w={140} placeholder={t("common.all")} />
        <Select label={t("deployments.state")} data={["Active", "Inactive"].map((v) => ({ value: v, label: t(`state.${v}` as Key) }))} value={state || null} onChange={(v) => url.set({ state: v, page: null })} clearable w={140} placeholder={t("common.all")} />
        <FilterInput label={t("deployments.owner")} value={owner} onChange={(value) => url.set({ owner: value, page: null }, { replace: true })} />
      </Group>
      {list.error && <ErrorView error={list.error} onRetry={() => list.refetch()} />}
      {canOperate && selected.length > 0 && (
        <Group data-testid="bulk-bar">
          <Text size="sm">{t("deployments.selected", { count: selected.length })}</Text>
          <Button size="xs" variant="light" leftSection={<IconPlayerPause size={14} />} onClick={() => actions.suspend(names)}>
            {t("actions.suspend")}
          </Button>
          <Button size="xs" variant="light" leftSection={<IconPlayerPlay size={14} />} onClick={() => actions.resume(names)}>
            {t("actions.resume")}
          </Button>
          <Button size="xs" variant="light" color="red" leftSection={<IconTrash size={14} />} onClick={() => actions.remove(names, () => setSelected([]))}>
            {t("actions.delete")}
          </Button>
        </Group>
      )}
      <div className="jo-scroll-x">
        <DataTable<Summary>
          withTableBorder
          striped
          highlightOnHover
          minHeight={180}
          records={shown}
          idAccessor="name"
          fetching={list.isPending}
          noRecordsText={t("deployments.none")}
          totalRecords={rows.length}
          recordsPerPage={size}
          page={page}
          onPageChange={(p) => url.set({ page: p === 1 ? null : p })}
          recordsPerPageOptions={PAGE_SIZES}
          onRecordsPerPageChange={(s) => url.set({ size: s === 50 ? null : s, page: null })}
          recordsPerPageLabel={t("common.perPage")}
          paginationText={({ from, to, totalRecords }) => t("common.range", { from, to, total: totalRecords })}
          sortStatus={sortStatus}
          onSortStatusChange={(s) => url.set({ sort: s.columnAccessor === "name" ? null : String(s.columnAccessor), desc: s.direction === "desc" ? 1 : null })}
          selectedRecords={canOperate ? selected : undefined}
          onSelectedRecordsChange={canOperate ? setSelected : undefined}
          allRecordsSelectionCheckboxProps={{ "aria-label": t("deployments.selectAll") }}
          getRecordSelectionCheckboxProps={(record) => ({ "aria-label": t("deployments.selectOne", { name: record.name }) })}
          columns={[
            { accessor: "name", title: t("deployments.name"), sortable: true, render: (d) => <Anchor component={Link} to={`/deployments/${encodeURIComponent(d.name)}`}>{d.name}</Anchor> },
            { accessor: "state", title: t("deployments.state"), sortable: true, render: (d) => <StateBadge state={d.state} /> },
            { accessor: "containerState", title: t("deployments.container"), sortable: true, render: (d) => <ContainerBadge state={d.containerState} /> },
            { accessor: "type", title: t("deployments.type"), sortable: true },
            {
              accessor: "schedule",
              title: t("deployments.schedule"),
              render: (d) =>
                d.schedule ? (
                  <Stack gap={0}>
                    <Text size="sm" ff="monospace">{d.schedule}</Text>
                    <Text size="xs" c="dimmed">{cronInWords(d.schedule, language) ?? ""} · {d.timeZone ?? "UTC"}</Text>
                  </Stack>
                ) : (
                  "—"
                ),
            },
            { accessor: "lastRun", title: t("deployments.lastRun"), sortable: true, render: (d) => <Time value={d.lastRun} /> },
            {
              accessor: "nextRun",
              title: t("deployments.nextRun"),
              sortable: true,
              render: (d) =>
                d.nextRun ? (
                  <Stack gap={0}>
                    <Time value={d.nextRun} />
                    <Text size="xs" c="dimmed"><Countdown to={d.nextRun} /></Text>
                  </Stack>
                ) : (
                  "—"
                ),
            },
            { accessor: "lastFailure", title: t("deployments.failure"), render: (d) => (d.lastFailure ? <Text size="sm" c="red">{d.lastFailure}</Text> : "") },
            { accessor: "image", title: t("deployments.image"), cellsClassName: "jo-hide-narrow", titleClassName: "jo-hide-narrow" },
            { accessor: "resource", title: t("deployments.resource"), cellsClassName: "jo-hide-narrow", titleClassName: "jo-hide-narrow" },
            { accessor: "owner", title: t("deployments.owner"), sortable: true },
            { accessor: "deployedAt", title: t("deployments.deployedAt"), sortable: true, render: (d) => <Time value={d.deployedAt} /> },
            {
              accessor: "actions",
              title: <span className="sr-only">{t("deployments.actions")}</span>,
              textAlign: "right",
              render: (d) => <RowActions deployment={d} canOperate={canOperate} actions={actions} />,
            },
          ]}
        />
      </div>
    </Stack>
  );
}

/**
 * A row's action menu. Its button alone until first pressed: a Menu (with its popover and items)
 * on each of 100 rows cost more than the rest of the row.
 */
function RowActions({ deployment: d, canOperate, actions }: { deployment: Summary; canOperate: boolean; actions: ReturnType<typeof useDeploymentActions> }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const [used, setUsed] = useState(false);
  const [opened, setOpened] = useState(false);
  const label = t("deployments.actionsOf", { name: d.name });
  const firstOpen = () => {
    setUsed(true);
    setOpened(true);
  };
  const button = (
    <ActionIcon variant="subtle" aria-label={label} title={label} aria-haspopup="menu" onClick={used ? undefined : firstOpen}>
      <IconDots size={16} />
    </ActionIcon>
  );
  if (!used) return button;
  return (
    <Menu position="bottom-end" withinPortal opened={opened} onChange={setOpened} returnFocus>
      <Menu.Target>{button}</Menu.Target>
      <Menu.Dropdown>
        <Menu.Item onClick={() => navigate(`/deployments/${encodeURIComponent(d.name)}/logs`)}>{t("actions.logs")}</Menu.Item>
        <Menu.Item onClick={() => actions.airflow(d.name)}>{t("actions.airflow")}</Menu.Item>
        {canOperate && (
          <>
            <Menu.Divider />
            {d.type === "CronJob" && <Menu.Item onClick={() => actions.runNow(d.name)}>{t("actions.run")}</Menu.Item>}
            {d.type === "CronJob" && d.state === "Active" && <Menu.Item onClick={() => actions.suspend([d.name])}>{t("actions.suspend")}</Menu.Item>}
            {d.type === "CronJob" && d.state === "Inactive" && <Menu.Item onClick={() => actions.resume([d.name])}>{t("actions.resume")}</Menu.Item>}
            <Menu.Item onClick={() => navigate(`/deployments/${encodeURIComponent(d.name)}/edit`)}>{t("actions.edit")}</Menu.Item>
            <Menu.Item color="red" onClick={() => actions.remove([d.name])}>{t("actions.delete")}</Menu.Item>
          </>
        )}
      </Menu.Dropdown>
    </Menu>
  );
}
