// The UI's words in English, French and Brazilian Portuguese, from one catalogue
// (catalogue.ts, a file per language); the language is the browser's first one we have, until the
// user picks another. A language's words are loaded before it is shown (main.tsx waits for the
// first one).
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { catalogue, loadCatalogue, type Key, type Language, LANGUAGES } from "./catalogue";

export type { Key, Language };
export { LANGUAGES, loadCatalogue };

const STORAGE = "jo.language";

export function browserLanguage(preferences: readonly string[] = navigator.languages ?? [navigator.language]): Language {
  for (const preference of preferences) {
    const lower = preference.toLowerCase();
    if (lower.startsWith("pt")) return "pt-BR";
    if (lower.startsWith("fr")) return "fr";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export function initialLanguage(): Language {
  const chosen = localStorage.getItem(STORAGE);
  return LANGUAGES.includes(chosen as Language) ? (chosen as Language) : browserLanguage();
}

export type Vars = Record<string, string | number>;
export type Translate = (key: Key, vars?: Vars) => string;

export function translate(language: Language, key: Key, vars?: Vars): string {
  const text = catalogue[language]?.[key] ?? catalogue.en?.[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole)) : text;
}

interface I18n {
  language: Language;
  setLanguage: (language: Language) => void;
  t: Translate;
  /** The history API's name of the language (`pt_BR`). */
  apiLocale: string;
}

const Context = createContext<I18n | null>(null);

export function I18nProvider({ children, language: fixed }: { children: ReactNode; language?: Language }) {
  const [language, setLanguageState] = useState<Language>(() => fixed ?? initialLanguage());
  const setLanguage = useCallback((next: Language) => {
    localStorage.setItem(STORAGE, next);
    void loadCatalogue(next).then(() => {
      document.documentElement.lang = next;
      setLanguageState(next);
    });
  }, []);
  const value = useMemo<I18n>(
    () => ({
      language,
      setLanguage,
      t: (key, vars) => translate(language, key, vars),
      apiLocale: language.replace("-", "_"),
    }),
    [language, setLanguage],
  );
  document.documentElement.lang = language;
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(Context);
  if (!value) throw new Error("useI18n outside I18nProvider");
  return value;
}

export function useT(): Translate {
  return useI18n().t;
}
