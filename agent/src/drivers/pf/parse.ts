/**
 * Reading pfctl's output (pfctl(8); rules print one per line in pfctl's canonical form). Pure.
 */
import { createHash } from "node:crypto";
import type { PfHooks } from "./types.js";

const lines = (text: string): string[] => text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");

/** calls tells whether a rule line of `-sr`/`-sn` calls exactly this anchor (`anchor "steward" all`). */
function calls(line: string, keyword: string, anchor: string): boolean {
  return line === `${keyword} "${anchor}"` || line.startsWith(`${keyword} "${anchor}" `);
}

/**
 * passesAllQuick tells a `pass … quick … all` rule: one that passes every address for good,
 * before the anchor could block jail traffic (`pass quick on lo0 all` is the classic one). A
 * quick pass to the node's own address or port (the admins' ssh) cannot match jail traffic
 * and is not one.
 */
function passesAllQuick(line: string): boolean {
  return /^pass (in |out )?(log(\s*\([^)]*\))? )?quick( on [^ ]+)?( inet6?)?( proto [a-z0-9-]+)? all( |$)/.test(line);
}

/**
 * parseHooks reads the main ruleset (`pfctl -sr` and `pfctl -sn`) for what makes the anchor
 * count: its nat-anchor, rdr-anchor and anchor calls, and the `pass quick … all` rules
 * evaluated before the anchor call (they decide before Steward's rules can).
 */
export function parseHooks(rules: string, nat: string, anchor: string): PfHooks {
  const filter = lines(rules);
  const at = filter.findIndex((l) => calls(l, "anchor", anchor));
  const before = at < 0 ? filter : filter.slice(0, at);
  return {
    nat: lines(nat).some((l) => calls(l, "nat-anchor", anchor)),
    rdr: lines(nat).some((l) => calls(l, "rdr-anchor", anchor)),
    filter: at >= 0,
    quickBefore: at < 0 ? [] : before.filter(passesAllQuick),
  };
}

/** parseLoopbackSkipped reads `pfctl -s Interfaces -i lo0 -v`: lo0 is marked ` (skip)`. */
export function parseLoopbackSkipped(text: string): boolean {
  return lines(text).some((l) => l === "lo0 (skip)");
}

/** The parts of a ruleset as pfctl prints it. */
export interface PrintedRuleset {
  readonly tables: readonly string[];
  readonly translation: readonly string[];
  readonly filter: readonly string[];
}

/**
 * splitPrinted sorts the lines `pfctl -nv -f FILE` prints into table definitions (their
 * names), translation rules (what `-sn` will show) and filter rules (what `-sr` will show).
 */
export function splitPrinted(text: string): PrintedRuleset {
  const tables: string[] = [];
  const translation: string[] = [];
  const filter: string[] = [];
  for (const l of lines(text)) {
    const table = /^table <([^>]+)>/.exec(l);
    if (table !== null) tables.push(table[1] as string);
    else if (/^(no )?(nat|rdr|binat)(-anchor)? /.test(l)) translation.push(l);
    else if (/^(pass|block|match|anchor|load anchor) /.test(l)) filter.push(l);
  }
  return { tables: tables.sort(), translation, filter };
}

/**
 * compareReadback compares what an anchor reads back (`-sn`, `-sr`, `-sT`) with what pfctl
 * said the loaded file means; returns the differences, for people, none when equal.
 */
export function compareReadback(expected: PrintedRuleset, nat: string, rules: string, tables: string): string[] {
  const problems: string[] = [];
  const diff = (what: string, want: readonly string[], got: readonly string[]): void => {
    if (want.length === got.length && want.every((l, i) => l === got[i])) return;
    const i = want.findIndex((l, k) => l !== got[k]);
    const at = i < 0 ? Math.min(want.length, got.length) : i;
    problems.push(`${what}: ${got.length} read back, ${want.length} loaded; first difference at ${at + 1}: ${JSON.stringify(got[at] ?? null)} instead of ${JSON.stringify(want[at] ?? null)}`);
  };
  diff("translation rules", expected.translation, lines(nat));
  diff("filter rules", expected.filter, lines(rules));
  diff("tables", expected.tables, lines(tables).map((l) => l.trim()).sort());
  return problems;
}

/** readbackHash is the fingerprint of what an anchor holds: its `-sn`, `-sr` and `-sT` output. */
export function readbackHash(nat: string, rules: string, tables: string): string {
  return createHash("sha256").update([lines(nat), lines(rules), lines(tables).map((l) => l.trim()).sort()].map((l) => l.join("\n")).join("\n--\n")).digest("hex");
}

/** isEmptyReadback tells whether an anchor holds nothing at all. */
export function isEmptyReadback(nat: string, rules: string, tables: string): boolean {
  return lines(nat).length === 0 && lines(rules).length === 0 && lines(tables).length === 0;
}
