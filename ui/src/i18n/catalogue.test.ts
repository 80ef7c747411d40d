import { describe, expect, it } from "vitest";
import { catalogue, LANGUAGES, loadCatalogue } from "./catalogue";
import { browserLanguage, translate } from "./index";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("the catalogue", () => {
  const english = catalogue.en!;
  for (const language of LANGUAGES) {
    it(`${language} has every key of English, none empty, with the same placeholders`, async () => {
      const words = (await loadCatalogue(language)) as Record<string, string>;
      const missing = Object.keys(english).filter((key) => !(key in words));
      const extra = Object.keys(words).filter((key) => !(key in english));
      const empty = Object.keys(words).filter((key) => !words[key]?.trim());
      const mismatched = Object.keys(english).filter((key) => key in words && placeholders(words[key]!).join() !== placeholders(english[key as keyof typeof english]).join());
      expect({ missing, extra, empty, mismatched }).toEqual({ missing: [], extra: [], empty: [], mismatched: [] });
    });
  }

  it("every key the code names is in the catalogue", async () => {
    // Keys written as t("...") in the sources, and those built from a state's name.
    const sources = import.meta.glob("../**/*.tsx", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
    const used = new Set<string>();
    for (const [file, text] of Object.entries(sources)) {
      if (file.includes(".test.")) continue;
      for (const match of text.matchAll(/\bt\(\s*"([a-zA-Z0-9_.]+)"/g)) used.add(match[1]!);
    }
    const unknown = [...used].filter((key) => !(key in english));
    expect(unknown).toEqual([]);
    expect(used.size).toBeGreaterThan(200);
  });

  it("fills placeholders and picks the browser's language", async () => {
    await loadCatalogue("fr");
    expect(translate("fr", "deploy.name.taken", { name: "ventes" })).toBe("Un déploiement nommé ventes existe déjà");
    expect(browserLanguage(["pt-BR", "en"])).toBe("pt-BR");
    expect(browserLanguage(["fr-CA"])).toBe("fr");
    expect(browserLanguage(["de-DE"])).toBe("en");
  });
});
