// Every page keeps its state in the URL's query, so that a link (or the back button) gives the
// same view. Setting a value to "", null or undefined removes it; `replace` keeps history short
// for typing.
import { useCallback } from "react";
import { useSearchParams } from "react-router";

export type UrlValues = Record<string, string | number | boolean | null | undefined>;

export function useUrlState() {
  const [params, setParams] = useSearchParams();
  const get = useCallback((key: string, fallback = ""): string => params.get(key) ?? fallback, [params]);
  const getNumber = useCallback(
    (key: string, fallback: number): number => {
      const value = Number(params.get(key));
      return params.has(key) && Number.isFinite(value) ? value : fallback;
    },
    [params],
  );
  const set = useCallback(
    (values: UrlValues, options: { replace?: boolean } = {}) => {
      setParams(
        (previous) => {
          const next = new URLSearchParams(previous);
          for (const [key, value] of Object.entries(values)) {
            if (value === null || value === undefined || value === "" || value === false) next.delete(key);
            else next.set(key, String(value));
          }
          return next;
        },
        { replace: options.replace },
      );
    },
    [setParams],
  );
  return { params, get, getNumber, set };
}
