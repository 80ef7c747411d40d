// One job of the catalog: its versions newest first (snapshots with their builds), a badge where a
// deployment runs that version, the chosen version's files with checksums, and "Deploy this version".
import { Alert, Anchor, Badge, Breadcrumbs, Button, Code, Grid, Group, NavLink, Paper, ScrollArea, Stack, Text, Title } from "@mantine/core";
import { IconRocket } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { DataTable } from "mantine-datatable";
import { Link, useParams } from "react-router";
import { ApiError, call, catalogApi, listAllDeployments } from "../api/client";
import { useCanOperate } from "../auth";
import { ErrorView } from "../components/ErrorView";
import { useT } from "../i18n";
import { Time } from "../time";
import { useUrlState } from "../url";

export function formatSize(bytes?: number | null): string {
  if (bytes === null || bytes === undefined) return "—";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export default function ArtifactPage() {
  const t = useT();
  const canOperate = useCanOperate();
  const { repository = "", group = "", name = "" } = useParams();
  const url = useUrlState();
  const versions = useQuery({
    queryKey: ["versions", repository, group, name],
    queryFn: () =>
      call(
        "GET /api/catalog/.../versions",
        catalogApi.GET("/api/catalog/repositories/{repository}/artifacts/{group}/{name}/versions", { params: { path: { repository, group, name } } }),
      ),
  });
  const deployments = useQuery({
    queryKey: ["deployments", "all-for-badges"],
    queryFn: () => listAllDeployments(),
    staleTime: 30_000,
  });
  const version = url.get("version") || versions.data?.versions[0]?.version || "";
  const detail = useQuery({
    queryKey: ["version", repository, group, name, version],
    enabled: !!version,
    queryFn: async () => {
      const path = { repository, group, name, version };
      try {
        return await call("GET /api/catalog/.../versions/{version}", catalogApi.GET("/api/catalog/repositories/{repository}/artifacts/{group}/{name}/versions/{version}", { params: { path } }));
      } catch (error) {
        // Nexus' search index may lag behind the listing: ask Nexus again before saying it is not there.
        if (error instanceof ApiError && error.status === 404) {
          return call("GET /api/catalog/.../versions/{version}", catalogApi.GET("/api/catalog/repositories/{repository}/artifacts/{group}/{name}/versions/{version}", { params: { path, query: { refresh: true } } }));
        }
        throw error;
      }
    },
  });
  const groupName = group === "-" ? "" : group;
  const deployedAt = (v: string) =>
    (deployments.data?.deployments ?? []).filter((d) => d.resource === `${repository}/${groupName}:${name}:${v}` || d.resource.endsWith(`:${name}:${v}`) && d.resource.startsWith(`${repository}/`)).map((d) => d.name);
  const listed = versions.data?.versions ?? [];
  const shown = version && !listed.some((v) => v.version === version || v.builds?.some((b) => b.version === version)) ? [{ version, snapshot: false, builds: [] }, ...listed] : listed;

  return (
    <Stack>
      <Breadcrumbs>
        <Anchor component={Link} to={`/catalog?repo=${encodeURIComponent(repository)}`}>
          {repository}
        </Anchor>
        <Text>{groupName || "—"}</Text>
        <Text fw={600}>{name}</Text>
      </Breadcrumbs>
      <Title order={2}>{name}</Title>
      {versions.error && <ErrorView error={versions.error} onRetry={() => versions.refetch()} />}
      <Grid>
        <Grid.Col span={{ base: 12, md: 4 }}>
          <Paper withBorder p="xs">
            <Title order={3} size="h5" mb="xs">
              {t("artifact.versions")}
            </Title>
            <ScrollArea.Autosize mah="60vh">
              <nav aria-label={t("artifact.versions")}>
                {shown.map((v) => (
                  <div key={v.version}>
                    <NavLink
                      component={Link}
                      to={`?version=${encodeURIComponent(v.version)}`}
                      active={v.version === version}
                      variant="filled"
                      label={
                        <Group gap={6}>
                          <span>{v.version}</span>
                          {deployedAt(v.version).map((d) => (
                            <Badge key={d} size="xs" color="green" title={t("artifact.deployedAs", { name: d })}>
                              {t("artifact.deployed")}: {d}
                            </Badge>
                          ))}
                        </Group>
                      }
                      description={v.uploaded ? <Time value={v.uploaded} /> : undefined}
                    />
                    {v.builds?.map((b) => (
                      <NavLink key={b.version} component={Link} to={`?version=${encodeURIComponent(b.version)}`} active={b.version === version} variant="filled" label={b.version} pl="xl" description={<Time value={b.uploaded} />} />
                    ))}
                  </div>
                ))}
              </nav>
            </ScrollArea.Autosize>
          </Paper>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 8 }}>
          <Stack>
            {detail.error instanceof ApiError && detail.error.status === 404 ? (
              <Alert color="yellow" role="alert" title={t("artifact.notYet")}>
                {t("artifact.notYetText", { version })}
                <Group mt="xs">
                  <Button size="xs" variant="light" onClick={() => detail.refetch()}>
                    {t("common.retry")}
                  </Button>
                </Group>
              </Alert>
            ) : detail.error ? (
              <ErrorView error={detail.error} onRetry={() => detail.refetch()} />
            ) : null}
            {detail.data && (
              <>
                <Group justify="space-between">
                  <Title order={3} size="h4">
                    {t("artifact.version", { version: detail.data.build ?? detail.data.version })}
                  </Title>
                  {canOperate && detail.data.toRun && (
                    <Button
                      component={Link}
                      leftSection={<IconRocket size={16} />}
                      to={`/deploy?${new URLSearchParams({ repository, group: groupName, name, version: detail.data.build ?? detail.data.version }).toString()}`}
                    >
                      {t("artifact.deploy")}
                    </Button>
                  )}
                </Group>
                {detail.data.toRun ? (
                  <Text size="sm">
                    {t("artifact.toRun")} <Code>{detail.data.toRun.path}</Code>
                  </Text>
                ) : (
                  <Alert color="yellow">{t("artifact.nothingToRun")}</Alert>
                )}
                <div className="jo-scroll-x">
                  <DataTable
                    withTableBorder
                    records={detail.data.assets}
                    idAccessor="path"
                    columns={[
                      { accessor: "path", title: t("artifact.file") },
                      { accessor: "kind", title: t("artifact.kind"), render: (a) => <Badge variant="outline">{a.kind}</Badge> },
                      { accessor: "size", title: t("artifact.size"), textAlign: "right", render: (a) => formatSize(a.size) },
                      {
                        accessor: "checksums",
                        title: t("artifact.checksums"),
                        render: (a) => (
                          <Stack gap={0}>
                            {(["sha512", "sha256", "sha1", "md5"] as const)
                              .filter((k) => a.checksums[k])
                              .map((k) => (
                                <Text key={k} size="xs" ff="monospace" style={{ wordBreak: "break-all" }}>
                                  {k}: {a.checksums[k]}
                                </Text>
                              ))}
                          </Stack>
                        ),
                      },
                      { accessor: "uploaded", title: t("artifact.uploaded"), render: (a) => <Time value={a.uploaded ?? a.lastModified} /> },
                    ]}
                  />
                </div>
              </>
            )}
          </Stack>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
