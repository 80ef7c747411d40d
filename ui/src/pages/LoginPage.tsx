// Login: a message for each answer of the gateway, then back to the page that was asked for.
import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { ApiError, call, gatewayApi } from "../api/client";
import { ME } from "../auth";
import { useI18n } from "../i18n";

/** Only a path of this site: a link to /login?next=https://elsewhere must not send anyone away. */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/deployments";
}

export function LoginPage() {
  const { t } = useI18n();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    if (!waitUntil) return;
    const timer = window.setInterval(() => setNow(Date.now()), 500);
    return () => window.clearInterval(timer);
  }, [waitUntil]);
  const waitLeft = waitUntil ? Math.ceil((waitUntil - now) / 1000) : 0;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await call("POST /api/auth/login", gatewayApi.POST("/api/auth/login", { body: { username, password } }));
      client.setQueryData(ME, answer.user);
      navigate(safeNext(params.get("next")), { replace: true });
    } catch (caught) {
      const failure = caught instanceof ApiError ? caught : new ApiError({ status: 0, code: "unreachable", message: String(caught), request: "POST /api/auth/login" });
      setError(failure);
      if (failure.retryAfter) setWaitUntil(Date.now() + failure.retryAfter * 1000);
    } finally {
      setBusy(false);
    }
  };

  const message = error ? loginMessage(error, t, waitLeft) : null;
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" w={380} maw="100%" component="main">
        <form onSubmit={submit} noValidate>
          <Stack>
            <Title order={1} size="h3">
              Job Orchestrator
            </Title>
            <Text size="sm" c="dimmed">
              {t("login.intro")}
            </Text>
            {params.get("expired") && !error && (
              <Alert color="blue" role="status">
                {t("login.expired")}
              </Alert>
            )}
            {message && (
              <Alert color={error?.unreachable || (error && error.status >= 500) ? "orange" : "red"} role="alert" data-testid="login-error">
                {message}
                {error?.requestId ? <Text size="xs" c="dimmed">{t("error.requestId", { id: error.requestId })}</Text> : null}
              </Alert>
            )}
            <TextInput label={t("login.username")} value={username} onChange={(e) => setUsername(e.currentTarget.value)} autoComplete="username" required data-autofocus />
            <PasswordInput label={t("login.password")} value={password} onChange={(e) => setPassword(e.currentTarget.value)} autoComplete="current-password" required />
            <Button type="submit" loading={busy} disabled={!username || !password || waitLeft > 0}>
              {waitLeft > 0 ? t("login.waitButton", { seconds: waitLeft }) : t("login.submit")}
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}

function loginMessage(error: ApiError, t: ReturnType<typeof useI18n>["t"], waitLeft: number): string {
  switch (error.code) {
    case "invalid_credentials":
      return t("login.invalid");
    case "not_allowed":
      return t("login.notAllowed");
    case "too_many_attempts":
      return t("login.tooMany", { seconds: Math.max(waitLeft, 0) });
    case "directory_unavailable":
      return t("login.directoryDown");
    case "unreachable":
      return t("error.unreachable.text");
    default:
      return error.message;
  }
}
