// Who is logged in (GET /api/auth/me) and what they may do. An expired session (any 401) sends the
// user to the login page, which brings them back to where they were.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, type ReactNode } from "react";
import { Navigate, useLocation, useNavigate } from "react-router";
import { ApiError, call, gatewayApi, whenUnauthenticated, type Gateway } from "./api/client";
import { FullPageLoader, ErrorView } from "./components/ErrorView";

export type Caller = Gateway["Caller"];

/** Operators and admins change things; viewers read. The services check it again. */
export function canOperate(caller: Caller | null | undefined): boolean {
  return !!caller?.roles.some((role) => role === "operator" || role === "admin");
}

const Context = createContext<Caller | null>(null);

/** Who is logged in, for what is below (the tests give one directly). */
export function CallerProvider({ caller, children }: { caller: Caller | null; children: ReactNode }) {
  return <Context.Provider value={caller}>{children}</Context.Provider>;
}

export function useCaller(): Caller | null {
  return useContext(Context);
}

export function useCanOperate(): boolean {
  return canOperate(useCaller());
}

export function loginPath(location: { pathname: string; search: string }, expired = false): string {
  const next = `${location.pathname}${location.search}`;
  const params = new URLSearchParams();
  if (next !== "/" && !next.startsWith("/login")) params.set("next", next);
  if (expired) params.set("expired", "1");
  const query = params.toString();
  return `/login${query ? `?${query}` : ""}`;
}

export const ME = ["me"] as const;

/** The pages behind login: without a session, the login page, then back here. */
export function RequireSession({ children }: { children: ReactNode }) {
  const location = useLocation();
  const navigate = useNavigate();
  const client = useQueryClient();
  const me = useQuery({
    queryKey: ME,
    queryFn: () => call("GET /api/auth/me", gatewayApi.GET("/api/auth/me")),
    staleTime: 60_000,
    retry: (count, error) => !(error instanceof ApiError && error.status === 401) && count < 2,
  });
  useEffect(() => {
    whenUnauthenticated(() => {
      client.removeQueries({ queryKey: ME });
      navigate(loginPath(window.location, true), { replace: true });
    });
    return () => whenUnauthenticated(null);
  }, [client, navigate]);
  if (me.isPending) return <FullPageLoader />;
  if (me.error instanceof ApiError && me.error.status === 401) return <Navigate to={loginPath(location)} replace />;
  if (me.error) return <ErrorView error={me.error} onRetry={() => me.refetch()} />;
  return <CallerProvider caller={me.data}>{children}</CallerProvider>;
}
