import { describe, expect, it } from "vitest";
import { builderToRsql, parseRsql, RsqlSyntaxError, SAMPLES, toBuilder, type Rule, type RuleGroup } from "./rsql";

describe("RSQL and the builder", () => {
  for (const sample of SAMPLES) {
    it(`reads ${sample} into the builder and writes it back unchanged`, () => {
      const group = toBuilder(parseRsql(sample));
      expect(builderToRsql(group)).toBe(sample);
    });
  }

  it("gives the builder the document's rules: selector, operator and values", () => {
    const group = toBuilder(parseRsql("(paramLabel=='Sleeps');(paramValue=in=('3','1'))"));
    expect(group.combinator).toBe("and");
    expect(group.rules.map((r) => [(r as Rule).field, (r as Rule).operator, (r as Rule).value])).toEqual([
      ["paramLabel", "==", "Sleeps"],
      ["paramValue", "=in=", "3,1"],
    ]);
    const or = toBuilder(parseRsql('priority==1,jobOwner=="admin"'));
    expect(or.combinator).toBe("or");
  });

  it("writes a builder's own query with the quotes values need and the parentheses precedence needs", () => {
    const query: RuleGroup = {
      combinator: "and",
      rules: [
        { field: "jobOwner", operator: "==", value: "adm*" },
        { combinator: "or", rules: [{ field: "exitStatus", operator: "==", value: "KILLED" }, { field: "description", operator: "==", value: "two words" }] },
        { field: "paramValue", operator: "=in=", value: "3, 1" },
      ],
    };
    expect(builderToRsql(query)).toBe('jobOwner==adm*;(exitStatus==KILLED,description=="two words");paramValue=in=(3,1)');
    expect(builderToRsql(toBuilder(parseRsql(builderToRsql(query))))).toBe(builderToRsql(query));
  });

  it("keeps the words and / or and the operators without a value, as the history takes them", () => {
    for (const text of ['jobOwner=="admin" and priority=gt=2', "exitStatus==KILLED or (paramValue=isnull=;priority==1)", "submissionMachines=notnull="]) {
      expect(builderToRsql(toBuilder(parseRsql(text)))).toBe(text);
    }
    const group = toBuilder(parseRsql("paramValue=isnull= and jobOwner==adm*"));
    expect(group.rules.map((r) => [(r as Rule).field, (r as Rule).operator, (r as Rule).value])).toEqual([
      ["paramValue", "=isnull=", ""],
      ["jobOwner", "==", "adm*"],
    ]);
    // A word inside a quoted value is the value's.
    expect(toBuilder(parseRsql('description=="this and that"')).rules).toHaveLength(1);
  });

  it("says where a query is wrong, counting from 1 as the service does", () => {
    const where = (text: string) => {
      try {
        parseRsql(text);
        return null;
      } catch (error) {
        return (error as RsqlSyntaxError).position;
      }
    };
    expect(where("jobOwner==")).toBe(11);
    expect(where("jobOwner=~x")).toBe(9);
    expect(where("(priority==1")).toBe(13);
    expect(where('description=="open')).toBe(19);
  });
});
