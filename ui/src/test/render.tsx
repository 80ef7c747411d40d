import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { VirtuosoMockContext } from "react-virtuoso";
import { newQueryClient, Providers } from "../providers";

/** Renders `element` at `path` (matched by `route`) with every provider the app has. */
export function renderPage(element: ReactNode, { path = "/", route = "/" }: { path?: string; route?: string } = {}) {
  const client = newQueryClient();
  client.setDefaultOptions({ queries: { retry: false, staleTime: 0 } });
  const router = createMemoryRouter([{ path: route, element }], { initialEntries: [path] });
  const result = render(
    <VirtuosoMockContext.Provider value={{ viewportHeight: 600, itemHeight: 18 }}>
      <Providers client={client} language="en" zone="America/Sao_Paulo" colorScheme="light">
        <RouterProvider router={router} />
      </Providers>
    </VirtuosoMockContext.Provider>,
  );
  return { ...result, router };
}
