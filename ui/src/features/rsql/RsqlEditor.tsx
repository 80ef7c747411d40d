// The history's query: an RSQL text box (the server's error shown at its character) and a builder
// with the server's fields, operators and values, each writing the other: the builder writes the
// text; the text is read back into the builder when it can be.
import { Alert, Button, Code, Group, Stack, Text, Textarea } from "@mantine/core";
import { MantineValueEditor, MantineValueSelector, QueryBuilderMantine, type MantineValueEditorProps } from "@react-querybuilder/mantine";
import { useEffect, useMemo, useState } from "react";
import { QueryBuilder, type Field, type ValueSelectorProps } from "react-querybuilder";
import "react-querybuilder/dist/query-builder.css";
import type { History } from "../../api/client";
import { useT } from "../../i18n";
import { builderToRsql, LIST_OPERATORS, NULL_OPERATORS, OPERATORS, parseRsql, RsqlSyntaxError, toBuilder, type RuleGroup } from "./rsql";

const EMPTY: RuleGroup = { combinator: "and", rules: [] };

// The builder's selects and inputs are named by a title only (a tooltip, which screen readers
// need not read): the same words as their accessible name.
const LABELLED_CONTROLS = {
  valueSelector: (props: ValueSelectorProps) => <MantineValueSelector {...props} aria-label={props.title} />,
  valueEditor: (props: MantineValueEditorProps) => <MantineValueEditor {...props} extraProps={{ ...props.extraProps, "aria-label": props.title }} />,
};

type Selector = History["SelectorInfo"];

function fieldsOf(selectors: Selector[], used: RuleGroup): Field[] {
  const fields: Field[] = selectors.map((s) => ({
    name: s.name,
    label: s.name,
    operators: OPERATORS.filter((op) => s.operators.includes(op)).map((op) => ({ name: op, value: op, label: op, ...(NULL_OPERATORS.has(op) ? { arity: "unary" as const } : {}) })),
    ...(s.values && s.values.length > 0 ? { values: s.values.map((v) => ({ name: v, value: v, label: v })) } : {}),
  }));
  // A selector the list does not have (typed in the text) still shows in the builder.
  const names = new Set(fields.map((f) => f.name));
  const walk = (group: RuleGroup) => {
    for (const rule of group.rules) {
      if (typeof rule === "string") continue;
      if ("rules" in rule) walk(rule as RuleGroup);
      else if (!names.has(rule.field)) {
        names.add(rule.field);
        fields.push({ name: rule.field, label: rule.field });
      }
    }
  };
  walk(used);
  return fields;
}

export function RsqlEditor({
  value,
  onChange,
  selectors,
  serverError,
}: {
  value: string;
  onChange: (text: string) => void;
  selectors: Selector[];
  /** The history's 400 for `q`: its message and 1-based position. */
  serverError?: { message: string; position?: number | null } | null;
}) {
  const t = useT();
  const [text, setText] = useState(value);
  const [showBuilder, setShowBuilder] = useState(true);
  useEffect(() => setText(value), [value]);
  const parsed = useMemo(() => {
    if (text.trim() === "") return { group: EMPTY, error: null as RsqlSyntaxError | null };
    try {
      return { group: toBuilder(parseRsql(text)), error: null };
    } catch (error) {
      return { group: null, error: error instanceof RsqlSyntaxError ? error : new RsqlSyntaxError(String(error), 1) };
    }
  }, [text]);
  const [builder, setBuilder] = useState<RuleGroup>(parsed.group ?? EMPTY);
  useEffect(() => {
    if (parsed.group) setBuilder(parsed.group);
  }, [parsed.group]);
  const fields = useMemo(() => fieldsOf(selectors, builder), [selectors, builder]);
  const error = serverError ?? (parsed.error ? { message: parsed.error.message, position: parsed.error.position } : null);

  return (
    <Stack gap="xs">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onChange(text.trim());
        }}
      >
        <Group align="flex-start" wrap="nowrap">
          <Textarea
            label={t("history.rsql")}
            description={t("history.rsqlHelp")}
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) {
                e.preventDefault();
                onChange(text.trim());
              }
            }}
            autosize
            minRows={1}
            ff="monospace"
            style={{ flex: 1 }}
            error={error ? t("history.errorAt", { position: error.position ?? "?", message: error.message }) : undefined}
            data-testid="rsql-text"
            spellCheck={false}
          />
          <Button type="submit" mt={46}>
            {t("history.searchButton")}
          </Button>
        </Group>
      </form>
      {error?.position && text.length > 0 && (
        <Code block data-testid="rsql-error-caret" aria-label={t("history.errorWhere")}>
          {text.slice(0, error.position - 1)}
          <span className="jo-rsql-error">{text.slice(error.position - 1, error.position) || " "}</span>
          {text.slice(error.position)}
          {"\n"}
          {" ".repeat(Math.max(0, error.position - 1))}^
        </Code>
      )}
      <Group>
        <Button variant="subtle" size="xs" onClick={() => setShowBuilder((v) => !v)}>
          {showBuilder ? t("history.hideBuilder") : t("history.showBuilder")}
        </Button>
      </Group>
      {showBuilder &&
        (parsed.group === null ? (
          <Alert color="gray">{t("history.builderCannotRead")}</Alert>
        ) : (
          <div data-testid="rsql-builder">
            <QueryBuilderMantine>
              <QueryBuilder
                fields={fields}
                query={builder}
                combinators={[
                  { name: "and", value: "and", label: t("history.and") },
                  { name: "or", value: "or", label: t("history.or") },
                ]}
                getDefaultOperator={(field) => (fields.find((f) => f.name === field)?.operators as { name: string }[] | undefined)?.[0]?.name ?? "=="}
                getValueEditorType={(field, operator) => (!LIST_OPERATORS.has(operator) && fields.find((f) => f.name === field)?.values ? "select" : "text")}
                onQueryChange={(next) => {
                  setBuilder(next as RuleGroup);
                  const written = builderToRsql(next as RuleGroup);
                  setText(written);
                }}
                controlElements={LABELLED_CONTROLS}
                translations={{
                  combinators: { title: t("history.combinator") },
                  fields: { title: t("history.field") },
                  operators: { title: t("history.operator") },
                  value: { title: t("history.value") },
                  addRule: { label: t("history.addRule"), title: t("history.addRule") },
                  addGroup: { label: t("history.addGroup"), title: t("history.addGroup") },
                  removeRule: { label: "×", title: t("history.remove") },
                  removeGroup: { label: "×", title: t("history.remove") },
                }}
                controlClassnames={{ queryBuilder: "queryBuilder-branches" }}
              />
            </QueryBuilderMantine>
            <Text size="xs" c="dimmed">{t("history.builderHelp")}</Text>
          </div>
        ))}
    </Stack>
  );
}
