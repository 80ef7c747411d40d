// RSQL text <-> the query builder's groups and rules. The parser keeps what the text says beyond
// its meaning (each value's quotes, each parenthesis), so that a query read into the builder and
// written back is the same text, character for character, until the user changes it.
import type { RuleGroupType, RuleType } from "react-querybuilder";

export const OPERATORS = ["==", "!=", "=gt=", "=ge=", "=lt=", "=le=", "=in=", "=out=", "=isnull=", "=notnull="] as const;
export const LIST_OPERATORS = new Set(["=in=", "=out="]);
/** Operators that take no value: `paramValue=isnull=`. */
export const NULL_OPERATORS = new Set(["=isnull=", "=notnull="]);

export type Quote = '"' | "'" | "";

export interface Comparison {
  kind: "comparison";
  selector: string;
  operator: string;
  values: string[];
  quote: Quote;
  parens: number;
}

export interface Group {
  kind: "group";
  combinator: "and" | "or";
  /** Written with the words ` and ` / ` or ` rather than `;` / `,`. */
  words?: boolean;
  children: Node[];
  parens: number;
}

export type Node = Comparison | Group;

export class RsqlSyntaxError extends Error {
  /** 1-based, as the history service counts. */
  readonly position: number;
  constructor(message: string, position: number) {
    super(message);
    this.position = position;
  }
}

const RESERVED = /["'();,=!~<>\s]/;

class Parser {
  private at = 0;
  constructor(private readonly text: string) {}

  parse(): Node {
    const node = this.or();
    this.space();
    if (this.at < this.text.length) this.fail(`unexpected '${this.text[this.at]}'`);
    return node;
  }

  private fail(message: string): never {
    throw new RsqlSyntaxError(message, this.at + 1);
  }

  private space() {
    while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at++;
  }

  private peek(): string | undefined {
    this.space();
    return this.text[this.at];
  }

  /** `;` or ` and ` (`,` or ` or `) next: consumed, and whether it was the word; else null. */
  private separator(symbol: ";" | ",", word: "and" | "or"): { words: boolean } | null {
    const before = this.at;
    this.space();
    if (this.text[this.at] === symbol) {
      this.at++;
      return { words: false };
    }
    if (this.at > before && this.text.startsWith(word, this.at) && /\s/.test(this.text[this.at + word.length] ?? "")) {
      this.at += word.length;
      return { words: true };
    }
    this.at = before;
    return null;
  }

  private or(): Node {
    const children = [this.and()];
    let words = false;
    for (let next = this.separator(",", "or"); next; next = this.separator(",", "or")) {
      words ||= next.words;
      children.push(this.and());
    }
    return children.length === 1 ? children[0]! : { kind: "group", combinator: "or", words, children, parens: 0 };
  }

  private and(): Node {
    const children = [this.primary()];
    let words = false;
    for (let next = this.separator(";", "and"); next; next = this.separator(";", "and")) {
      words ||= next.words;
      children.push(this.primary());
    }
    return children.length === 1 ? children[0]! : { kind: "group", combinator: "and", words, children, parens: 0 };
  }

  private primary(): Node {
    if (this.peek() === "(") {
      this.at++;
      const inner = this.or();
      if (this.peek() !== ")") this.fail("expected ')'");
      this.at++;
      return { ...inner, parens: inner.parens + 1 };
    }
    return this.comparison();
  }

  private comparison(): Comparison {
    this.space();
    const start = this.at;
    while (this.at < this.text.length && /[A-Za-z0-9_.]/.test(this.text[this.at]!)) this.at++;
    const selector = this.text.slice(start, this.at);
    if (!selector) this.fail(this.at >= this.text.length ? "expected a selector, but the query ends here" : "expected a selector");
    const operator = OPERATORS.find((op) => this.text.startsWith(op, this.at));
    if (!operator) this.fail("expected an operator (==, !=, =gt=, =ge=, =lt=, =le=, =in=, =out=, =isnull=, =notnull=)");
    this.at += operator.length;
    if (NULL_OPERATORS.has(operator)) return { kind: "comparison", selector, operator, values: [], quote: "", parens: 0 };
    if (this.peek() === "(") {
      this.at++;
      const values: string[] = [];
      let quote: Quote = "";
      for (;;) {
        const value = this.value();
        values.push(value.text);
        quote = values.length === 1 ? value.quote : quote;
        const next = this.peek();
        this.at++;
        if (next === ")") break;
        if (next !== ",") this.fail("expected ',' or ')' in the list");
      }
      return { kind: "comparison", selector, operator, values, quote, parens: 0 };
    }
    const value = this.value();
    return { kind: "comparison", selector, operator, values: [value.text], quote: value.quote, parens: 0 };
  }

  private value(): { text: string; quote: Quote } {
    const first = this.peek();
    if (first === '"' || first === "'") {
      this.at++;
      let text = "";
      while (this.at < this.text.length && this.text[this.at] !== first) {
        if (this.text[this.at] === "\\" && this.at + 1 < this.text.length) {
          // `\*` stays escaped: it means a literal star, not a wildcard.
          text += this.text[this.at + 1] === "*" ? "\\*" : this.text[this.at + 1];
          this.at += 2;
        } else text += this.text[this.at++];
      }
      if (this.at >= this.text.length) this.fail(`the quoted value is not closed with ${first}`);
      this.at++;
      return { text, quote: first };
    }
    const start = this.at;
    while (this.at < this.text.length && !RESERVED.test(this.text[this.at]!)) this.at++;
    if (this.at === start) this.fail(this.at >= this.text.length ? "expected a value, but the query ends here" : "expected a value");
    return { text: this.text.slice(start, this.at), quote: "" };
  }
}

export function parseRsql(text: string): Node {
  return new Parser(text).parse();
}

function formatValue(value: string, quote: Quote | undefined): string {
  const q: Quote = quote ?? (value !== "" && !RESERVED.test(value) ? "" : '"');
  if (q === "" && value !== "" && !RESERVED.test(value)) return value;
  const use = q || '"';
  return `${use}${value.replace(/\\(?!\*)/g, "\\\\").replaceAll(use, `\\${use}`)}${use}`;
}

const wrap = (text: string, parens: number) => "(".repeat(parens) + text + ")".repeat(parens);

export function formatRsql(node: Node, parent?: "and" | "or"): string {
  if (node.kind === "comparison") {
    const values = NULL_OPERATORS.has(node.operator)
      ? ""
      : LIST_OPERATORS.has(node.operator)
        ? `(${node.values.map((v) => formatValue(v, node.quote)).join(",")})`
        : formatValue(node.values[0] ?? "", node.quote);
    return wrap(`${node.selector}${node.operator}${values}`, node.parens);
  }
  const separator = node.words ? ` ${node.combinator} ` : node.combinator === "and" ? ";" : ",";
  const inner = node.children.map((child) => formatRsql(child, node.combinator)).join(separator);
  // An OR inside an AND needs parentheses; anything else keeps those it was written with.
  const needed = parent === "and" && node.combinator === "or" && node.children.length > 1 ? 1 : 0;
  return wrap(inner, Math.max(node.parens, needed));
}

/** A rule of the builder, with what the text said about it. */
export type Rule = RuleType & { quote?: Quote; parens?: number };
export type RuleGroup = RuleGroupType<Rule> & { parens?: number; words?: boolean };

export function toBuilder(node: Node): RuleGroup {
  if (node.kind === "comparison") return { combinator: "and", rules: [toRule(node)], parens: 0 };
  return {
    combinator: node.combinator,
    parens: node.parens,
    words: node.words,
    rules: node.children.map((child) => (child.kind === "comparison" ? toRule(child) : toBuilder(child))),
  };
}

function toRule(node: Comparison): Rule {
  return {
    field: node.selector,
    operator: node.operator,
    value: LIST_OPERATORS.has(node.operator) ? node.values.join(",") : (node.values[0] ?? ""),
    quote: node.quote,
    parens: node.parens,
  };
}

function isGroup(item: unknown): item is RuleGroup {
  return typeof item === "object" && item !== null && "rules" in item;
}

/** The builder's query as a node; rules without a field or value are left out (being written). */
export function fromBuilder(group: RuleGroup): Node | null {
  const children: Node[] = [];
  for (const item of group.rules) {
    if (typeof item === "string") continue;
    if (isGroup(item)) {
      const child = fromBuilder(item);
      if (child) children.push(child);
      continue;
    }
    const rule = item as Rule;
    const raw = String(rule.value ?? "");
    if (!rule.field || (raw === "" && !NULL_OPERATORS.has(rule.operator))) continue;
    const values = NULL_OPERATORS.has(rule.operator) ? [] : LIST_OPERATORS.has(rule.operator) ? raw.split(",").map((v) => v.trim()) : [raw];
    children.push({ kind: "comparison", selector: rule.field, operator: rule.operator, values, quote: rule.quote ?? (undefined as unknown as Quote), parens: rule.parens ?? 0 });
  }
  if (children.length === 0) return null;
  if (children.length === 1 && !group.parens) return children[0]!;
  return { kind: "group", combinator: group.combinator === "or" ? "or" : "and", words: group.words, children, parens: group.parens ?? 0 };
}

export function builderToRsql(group: RuleGroup): string {
  const node = fromBuilder(group);
  return node ? formatRsql(node) : "";
}

/** The original document's example queries (the history service's guide), offered as samples. */
export const SAMPLES = [
  'description=="Teste Yade com batch"',
  'jobOwner=="adm*"',
  "priority==1",
  'algorithmName=="Teste_Progresso"',
  'executionMachine==40100;jobOwner=="admin"',
  'priority==1,jobOwner=="admin"',
  "(isDeleted==false);(description==*MS2)",
  'algorithmName=="Yade";exitStatus=="KILLED"',
  'paramLabel=="Sleeps"',
  "(paramLabel=='Sleeps');(paramValue=='3')",
  "(paramLabel=='Sleeps');(paramValue=in=('3','1'))",
  "submissionTime=='2019/06/12 21:24:25.342-0300'",
  "endTime=gt='2019/06/12 21:00+03';endTime=lt='2019/06/12 22:00+03'",
];
