// The providers every page needs, shared by the app and the component tests.
import { MantineProvider, createTheme } from "@mantine/core";
import { ModalsProvider } from "@mantine/modals";
import { Notifications } from "@mantine/notifications";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { ApiError } from "./api/client";
import { I18nProvider, type Language } from "./i18n";
import { TimeZoneProvider } from "./time";

// Darker shades of the primary colour than Mantine's default, so that links and active items
// reach WCAG AA contrast (4.5:1) on white and on striped rows.
export const theme = createTheme({ primaryShade: { light: 8, dark: 7 } });

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
      },
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
    <MantineProvider theme={theme} defaultColorScheme="auto" forceColorScheme={colorScheme} getStyleNonce={styleNonce}>
      <QueryClientProvider client={client}>
        <I18nProvider language={language}>
          <TimeZoneProvider zone={zone}>
            <ModalsProvider>
              <Notifications position="top-right" />
              {children}
            </ModalsProvider>
          </TimeZoneProvider>
        </I18nProvider>
      </QueryClientProvider>
    </MantineProvider>
  );
}
