/**
 * `steward check [DIR]`: the network policy of a cluster repo, offline (docs/network.md).
 * Validates the repo, compiles every node's pf rules, judges them the way pf will and prints
 * the reachability matrix; fails when anything reachable is not declared, anything declared
 * does not get through, a jail reaches the home LAN, or a rule touches a node's own traffic.
 * `--explain A B` says, port by port, which rule lets A reach B or stops it.
 * Exit 0 the policy keeps its promise, 1 it does not (or the repo is invalid), 2 usage.
 */
import { renderDiagnostic, type Diagnostic } from "../errors.js";
import { loadModel } from "../manifest/load.js";
import { compilePolicy } from "../network/compile.js";
import { indexPolicy, type Hop, type Verdict } from "../network/evaluate.js";
import { renderFilter, renderNat, renderRdr } from "../network/pf.js";
import { checkMatrix, checkNodeAccess, explain, problemDiagnostic, reachability, type Explanation, type Matrix, type Reach } from "../network/reach.js";
import type { ClusterPolicy, NodePolicy, RuleOrigin } from "../network/types.js";
import { readSnapshotFromDir } from "../source/dir.js";
import { stat } from "node:fs/promises";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command } from "./command.js";

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

export const checkCommand: Command = {
  name: "check",
  usage: [
    "usage: steward check [DIR] [--explain FROM TO] [--json]",
    "",
    "Checks the network policy of the cluster repo in DIR (default: the current directory), without",
    "touching the network or a host: validates the repo, compiles every node's pf rules and judges",
    "them the way pf will, then prints what each service can reach — other services, the home LAN,",
    "the internet — and what the outside can reach. It fails when anything is reachable that no",
    "route or exposed port declares, when something declared does not get through, when a jail",
    "reaches the home LAN, or when a rule would touch a node's own traffic (its fetches, its ssh).",
    "",
    "  --explain FROM TO   which rule lets FROM reach TO, or stops it, port by port. FROM: a service",
    "                      or outside; TO: a service, lan, internet, node:NAME or an IPv4 address",
    "  --json              print {ok, nodes, services, matrix, problems, diagnostics} as JSON",
    "",
    "Exit status: 0 the policy keeps its promise, 1 it does not or the repo is invalid, 2 usage.",
  ].join("\n"),
  options: { explain: { type: "string" } },
  allowPositionals: true,
  async run(values, positionals, io) {
    const from = typeof values["explain"] === "string" ? values["explain"] : undefined;
    if (from === undefined && positionals.length > 1) throw usageError("check takes at most one directory");
    if (from !== undefined && (positionals.length < 1 || positionals.length > 2)) throw usageError("--explain takes two names: steward check [DIR] --explain FROM TO");
    // `check DIR --explain A B` and `check --explain A B DIR` both leave DIR and B as
    // positionals: the one that is a directory is DIR.
    let dir = from === undefined ? (positionals[0] ?? ".") : ".";
    let to: string | undefined;
    if (from !== undefined) {
      const [a, b] = positionals as [string, string | undefined];
      if (b === undefined && (await isDirectory(a))) throw usageError("--explain takes two names: steward check [DIR] --explain FROM TO");
      if (b === undefined) to = a;
      else [dir, to] = (await isDirectory(a)) ? [a, b] : [b, a];
    }
    const json = values["json"] === true;

    const { model, diagnostics } = loadModel(await readSnapshotFromDir(dir));
    if (model === undefined) {
      if (json) io.out(JSON.stringify({ ok: false, dir, diagnostics }, null, 2));
      else {
        for (const d of diagnostics) io.err(renderDiagnostic(d));
        io.err(`${dir}: invalid, ${diagnostics.filter((d) => d.severity === "error").length} problem(s); the network policy is not compiled`);
      }
      return EXIT_PROBLEM;
    }
    const policy = compilePolicy(model);
    const index = indexPolicy(policy);

    if (from !== undefined && to !== undefined) {
      const e = explain(policy, from, to, index);
      if (e === undefined) throw usageError(`--explain: '${from}' or '${to}' is not a service, outside, lan, internet, node:NAME or an address`);
      if (json) io.out(JSON.stringify({ ok: true, dir, explain: explainJson(policy, e) }, null, 2));
      else io.out(renderExplanation(policy, e));
      return EXIT_OK;
    }

    const matrix = reachability(policy, index);
    const problems = [...checkMatrix(policy, matrix), ...checkNodeAccess(policy, index)];
    const broken: Diagnostic[] = problems.map((p) => problemDiagnostic(p, policy.protectWhere ?? { file: "cluster.yaml", line: 1, column: 1 }));
    const ok = broken.length === 0;
    if (json) {
      io.out(JSON.stringify({ ok, dir, nodes: policy.nodes.map((n) => n.node), services: matrix.services, matrix, problems, diagnostics: [...diagnostics, ...broken] }, null, 2));
    } else {
      for (const d of [...diagnostics, ...broken]) io.err(renderDiagnostic(d));
      io.out(renderMatrix(dir, policy, matrix));
      if (ok) io.out("ok: everything reachable is declared and gets through, no jail reaches the home LAN, and no rule touches a node's own traffic");
      else io.err(`${dir}: the network policy breaks its promise in ${broken.length} place(s)`);
    }
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};

const ports = (rs: readonly Reach[]): string => [...new Set(rs.map((r) => `${r.port}/${r.proto}`))].join(" ");

/** renderMatrix writes the reachability matrix for people: one line per source and kind of target. */
export function renderMatrix(dir: string, policy: ClusterPolicy, m: Matrix): string {
  const width = Math.max(7, ...m.services.map((s) => s.length));
  const lines = [`${dir}: ${policy.nodes.length} nodes, ${m.services.length} services; the pf rules of every node judged as pf will`];
  const services = m.reachable.filter((r) => r.from !== "outside" && m.services.includes(r.to));
  const internet = m.reachable.filter((r) => r.from !== "outside" && r.to === "internet");
  const lan = m.reachable.filter((r) => r.from !== "outside" && (r.to === "lan" || r.to.startsWith("node:")));
  const outside = m.reachable.filter((r) => r.from === "outside");
  const group = (rs: readonly Reach[], key: (r: Reach) => string): Map<string, Reach[]> => {
    const out = new Map<string, Reach[]>();
    for (const r of rs) out.set(key(r), [...(out.get(key(r)) ?? []), r]);
    return out;
  };
  lines.push("", "service -> service");
  if (services.length === 0) lines.push("  none");
  for (const [from, rs] of group(services, (r) => r.from)) {
    lines.push(`  ${from.padEnd(width)} -> ${[...group(rs, (r) => r.to)].map(([to, x]) => `${to} ${ports(x)}`).join(" · ")}`);
  }
  const stands = m.stands.filter((s) => s.kind === "internet");
  lines.push("", `service -> internet (${stands.map((s) => (s.network === undefined ? s.address : `${s.address} for ${s.network}`)).join(", ")})`);
  if (internet.length === 0) lines.push("  none");
  for (const [from, rs] of group(internet, (r) => r.from)) {
    lines.push(`  ${from.padEnd(width)} -> ${[...group(rs, (r) => r.address ?? "")].map(([a, x]) => (stands.length > 1 ? `${a} ${ports(x)}` : ports(x))).join(" · ")}`);
  }
  const lanStands = m.stands.filter((s) => s.kind === "lan" || s.kind.startsWith("node:"));
  lines.push("", `service -> home LAN (${lanStands.map((s) => (s.kind === "lan" ? `${s.address} for ${s.network ?? ""}` : `${s.kind.slice(5)} ${s.address}`)).join(", ")})`);
  if (lan.length === 0) lines.push("  none: no service reaches it");
  for (const [from, rs] of group(lan, (r) => r.from)) lines.push(`  ${from.padEnd(width)} -> ${[...group(rs, (r) => r.address ?? r.to)].map(([a, x]) => `${a} ${ports(x)}`).join(" · ")}`);
  const from = m.stands.filter((s) => s.kind === "lan" || s.kind === "internet").map((s) => s.address);
  lines.push("", `outside -> service (from ${from.join(" and ")}, to the node's address)`);
  if (outside.length === 0) lines.push("  none");
  for (const [to, rs] of group(outside, (r) => r.to)) lines.push(`  ${to.padEnd(width)} <- ${ports(rs)}`);
  lines.push("", `Every other pair is unreachable, on the ports the rules name and on ${m.probe.tcp}/tcp and ${m.probe.udp}/udp, which stand for all the others.`);
  return lines.join("\n");
}

function ruleText(policy: ClusterPolicy, hop: Hop): string[] {
  const node = policy.nodes.find((n) => n.node === hop.node) as NodePolicy;
  const out: string[] = [];
  const at = (o: RuleOrigin): string => `  # ${o.where === undefined ? "" : `${o.where.file}:${o.where.line}:${o.where.column} `}${o.text}`;
  if (hop.translation !== undefined) {
    const t = hop.translation;
    const text = t.kind === "nat" ? renderNat(node.nat[t.index] as NodePolicy["nat"][number], node.uplink) : renderRdr(node.rdr[t.index] as NodePolicy["rdr"][number], node.uplink);
    out.push(`${hop.node}: ${text}${at(t.origin)}`);
  }
  if (hop.rule !== undefined) out.push(`${hop.node}: ${renderFilter(node.filter[hop.rule.index] as NodePolicy["filter"][number], node.uplink)}${at(hop.rule.origin)}`);
  else out.push(`${hop.node}: no rule of the anchor matches (${hop.direction} on ${hop.iface === "uplink" ? node.uplink : "lo0"}): the node's own pf.conf decides`);
  return out;
}

function verdictText(v: Verdict): string {
  if (!v.delivered) return `stopped: ${v.why}`;
  return v.answered ? `reaches ${v.reached ?? "it"}, and the answers come back` : `reaches ${v.reached ?? "it"}, but ${v.why}`;
}

/** renderExplanation writes, port by port, what happens to A's packets to B and the rule that decides. */
export function renderExplanation(policy: ClusterPolicy, e: Explanation): string {
  const lines = [`${e.from} -> ${e.to} (${e.through === undefined ? e.address : `through node ${e.through}'s address ${e.address}`}), judged as pf will, port by port:`];
  for (const p of e.ports) {
    lines.push(`  ${p.port}/${p.proto}${p.probe ? " (and every port no rule names)" : ""}: ${verdictText(p.verdict)}`);
    for (const h of p.verdict.hops) for (const l of ruleText(policy, h)) lines.push(`      ${l}`);
  }
  return lines.join("\n");
}

function explainJson(policy: ClusterPolicy, e: Explanation): unknown {
  return {
    ...e,
    ports: e.ports.map((p) => ({ ...p, rules: p.verdict.hops.flatMap((h) => ruleText(policy, h)) })),
  };
}
