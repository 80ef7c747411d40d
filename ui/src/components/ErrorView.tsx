// How a failure is shown: in words, with what failed and the request id, and a way to retry;
// never a raw JSON body, never a blank screen.
import { Alert, Button, Center, Code, Group, Loader, Stack, Text } from "@mantine/core";
import { IconAlertTriangle, IconPlugConnectedX } from "@tabler/icons-react";
import { Component, type ErrorInfo, type ReactNode } from "react";
import { ApiError } from "../api/client";
import { useT } from "../i18n";

export function FullPageLoader() {
  const t = useT();
  return (
    <Center h="60vh" role="status" aria-live="polite">
      <Loader aria-label={t("common.loading")} />
    </Center>
  );
}

export function ErrorView({ error, onRetry, compact }: { error: unknown; onRetry?: () => void; compact?: boolean }) {
  const t = useT();
  if (error instanceof ApiError && error.unreachable) {
    return (
      <Alert color="orange" icon={<IconPlugConnectedX />} title={t("error.unreachable.title")} role="alert">
        <Group justify="space-between" wrap="wrap">
          <Text size="sm">{t("error.unreachable.text")}</Text>
          {onRetry && (
            <Button size="xs" variant="light" onClick={onRetry}>
              {t("common.retry")}
            </Button>
          )}
        </Group>
      </Alert>
    );
  }
  const api = error instanceof ApiError ? error : null;
  const message = api ? api.message : error instanceof Error ? error.message : String(error);
  return (
    <Alert color="red" icon={<IconAlertTriangle />} title={api ? titleOf(api, t) : t("error.unexpected")} role="alert">
      <Stack gap={4}>
        <Text size="sm">{message}</Text>
        {api && api.problems.length > 0 && (
          <ul>
            {api.problems.map((p) => (
              <li key={`${p.field}:${p.message}`}>
                <Code>{p.field}</Code> {p.message}
              </li>
            ))}
          </ul>
        )}
        {api && !compact && (
          <Text size="xs" c="dimmed">
            {t("error.request", { request: api.request, status: api.status, code: api.code })}
            {api.requestId ? ` · ${t("error.requestId", { id: api.requestId })}` : ""}
          </Text>
        )}
        {onRetry && (
          <Group>
            <Button size="xs" variant="light" onClick={onRetry}>
              {t("common.retry")}
            </Button>
          </Group>
        )}
      </Stack>
    </Alert>
  );
}

function titleOf(error: ApiError, t: ReturnType<typeof useT>): string {
  if (error.status === 403) return t("error.forbidden");
  if (error.status === 404) return t("error.notFound");
  if (error.status === 409 || error.status === 412) return t("error.conflict");
  if (error.status === 400) return t("error.badRequest");
  if (error.status >= 500) return t("error.server");
  return t("error.unexpected");
}

/** A render error anywhere below shows what failed instead of a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode; fallback: (error: Error, reset: () => void) => ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("render failed", error, info.componentStack);
  }
  render() {
    return this.state.error ? this.props.fallback(this.state.error, () => this.setState({ error: null })) : this.props.children;
  }
}
