// The providers every page needs, shared by the app and the component tests.
import { MantineProvider, Modal, createTheme, darken, luminance, type CSSVariablesResolver } from "@mantine/core";
import { ModalsProvider } from "@mantine/modals";
import { useNotifications } from "@mantine/notifications";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, useMemo, useRef, type ReactNode } from "react";
import { ApiError } from "./api/client";
import { I18nProvider, useT, type Language } from "./i18n";
import { TimeZoneProvider } from "./time";

// WCAG AA contrast (4.5:1) for every text on a coloured background, in both schemes:
// - the primary colour's shade 8 in both schemes (white on blue 8 is 5.0:1; Mantine's default
//   light shade 6 is 3.6:1): the same shade since Mantine picks a filled element's text colour
//   from the light scheme's shade;
// - autoContrast: a filled element's text is black or white, whichever reads better on its colour,
//   with the luminance where both give the same contrast (0.179) as the threshold (Mantine's 0.3
//   kept white on green, orange or yellow, below 4.5:1 at any shade).
// Close buttons (of notifications and dialogs) are icons: named in the user's language.
function themeFor(close: string) {
  return createTheme({
    primaryShade: { light: 8, dark: 8 },
    autoContrast: true,
    luminanceThreshold: 0.179,
    components: {
      Notification: { defaultProps: { closeButtonProps: { "aria-label": close } } },
      Modal: Modal.extend({ defaultProps: { closeButtonProps: { "aria-label": close } } }),
    },
  });
}

/** The WCAG contrast ratio of two colours. */
function contrast(a: string, b: string): number {
  const [lighter, darker] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (lighter + 0.05) / (darker + 0.05);
}

/**
 * A "light" variant (badges, buttons) writes shade 9 on shade 1 in the light scheme: below 4.5:1
 * for green, teal, lime, yellow and orange. Those take shade 9 darkened by 30% (5:1 or more).
 */
export const cssVariablesResolver: CSSVariablesResolver = (current) => ({
  variables: {},
  dark: {},
  light: Object.fromEntries(
    Object.entries(current.colors)
      .filter(([, shades]) => contrast(shades[9], shades[1]) < 4.5)
      .map(([name, shades]) => [`--mantine-color-${name}-light-color`, darken(shades[9], 0.3)]),
  ),
});

/**
 * The gateway's Content-Security-Policy allows styles from the site's files and from <style>
 * elements carrying the nonce it put in index.html for this page load (Mantine injects a few for
 * responsive layouts); nothing else inline.
 */
export function styleNonce(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? "";
}

export function newQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // A 4xx will not change by asking again; the network or a 5xx may.
        retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
        refetchOnWindowFocus: false,
        staleTime: 5_000,
        // Asked even when the browser says it is offline: the failure shows as "the platform cannot
        // be reached" with a Retry (React Query's default pauses the query, and a list looked empty).
        networkMode: "always",
      },
      mutations: { networkMode: "always" },
    },
  });
}

export function Providers({
  children,
  client,
  language,
  zone,
  colorScheme,
}: {
  children: ReactNode;
  client: QueryClient;
  language?: Language;
  zone?: string;
  colorScheme?: "light" | "dark";
}) {
  return (
    <I18nProvider language={language}>
      <Themed colorScheme={colorScheme}>
        <QueryClientProvider client={client}>
          <TimeZoneProvider zone={zone}>
            <ModalsProvider>
              <LazyNotifications />
              {children}
            </ModalsProvider>
          </TimeZoneProvider>
        </QueryClientProvider>
      </Themed>
    </I18nProvider>
  );
}

const NotificationsHost = lazy(() => import("./components/NotificationsHost"));

/** The notifications' host, from the first notification on (they wait in Mantine's store meanwhile). */
function LazyNotifications() {
  const { notifications, queue } = useNotifications();
  const shown = useRef(false);
  if (notifications.length > 0 || queue.length > 0) shown.current = true;
  return shown.current ? (
    <Suspense fallback={null}>
      <NotificationsHost />
    </Suspense>
  ) : null;
}

function Themed({ children, colorScheme }: { children: ReactNode; colorScheme?: "light" | "dark" }) {
  const t = useT();
  const close = t("common.close");
  const theme = useMemo(() => themeFor(close), [close]);
  return (
    <MantineProvider theme={theme} cssVariablesResolver={cssVariablesResolver} defaultColorScheme="auto" forceColorScheme={colorScheme} getStyleNonce={styleNonce}>
      {children}
    </MantineProvider>
  );
}
