/**
 * A node's policy as the text of the pf anchor `steward` (pf.conf(5), FreeBSD 13/14 syntax:
 * the classic `nat … ->` / `rdr … ->`, no 15.x `nat-to`). Pure.
 *
 * The file is loaded with `pfctl -a steward -f FILE`, replacing the anchor's tables,
 * translation and filter rules in one transaction. Statements come in the order pf.conf(5)
 * requires: tables, translation (nat, rdr), filtering. Every rule carries a comment naming the
 * manifest line it comes from. Addresses are literal: no macros, nothing resolved at load time
 * but the uplink's address, written `(em0)` so that pf follows it when DHCP changes it.
 */
import type { FilterRule, NatRule, NodePolicy, PolicyAddr, RdrRule, RuleOrigin, TableName } from "./types.js";
import { ANCHOR } from "./types.js";

/** The lines a node's /etc/pf.conf needs so that the anchor is evaluated (docs/network.md). */
export const PF_CONF_HOOKS = [`nat-anchor "${ANCHOR}"`, `rdr-anchor "${ANCHOR}"`, `anchor "${ANCHOR}"`] as const;

/** renderAnchor writes the anchor file of one node, ending in a newline (pf 14 needs it). Pure. */
export function renderAnchor(policy: NodePolicy): string {
  const lines = [
    `# pf anchor "${ANCHOR}" of node ${policy.node}, written by Steward from the cluster repo (docs/network.md).`,
    `# Do not edit: Steward loads it with pfctl -a ${ANCHOR} -f and loads it again when it changes.`,
    `# /etc/pf.conf calls it with: ${PF_CONF_HOOKS.join("; ")}`,
  ];
  if (policy.jails.length === 0) {
    lines.push("# No jails on this node: nothing to translate or filter.");
    return `${lines.join("\n")}\n`;
  }
  lines.push("", `# Jails of this node: ${policy.jails.map((j) => `${j.service} ${j.ip}`).join(", ")}.`);
  for (const t of ["steward_jails", "steward_protect", "steward_private"] as const) lines.push(renderTable(t, policy.tables[t]));
  if (policy.nat.length > 0) {
    lines.push("", "# Routes to the internet: translated to the uplink's address and tagged, one rule each.");
    for (const r of policy.nat) lines.push(withOrigin(renderNat(r, policy.uplink), r.origin));
  }
  if (policy.rdr.length > 0) {
    lines.push("", "# Exposed ports: redirected from the uplink's address to the jail.");
    for (const r of policy.rdr) lines.push(withOrigin(renderRdr(r, policy.uplink), r.origin));
  }
  lines.push("", "# Filtering: every rule is quick, the first that matches decides.");
  for (const r of policy.filter) lines.push(withOrigin(renderFilter(r, policy.uplink), r.origin));
  return `${lines.join("\n")}\n`;
}

const TABLE_COMMENTS: Readonly<Record<TableName, string>> = {
  steward_jails: "this node's jails",
  steward_protect: "the home LAN (network.protect): no jail reaches it",
  steward_private: "never translated: the jail network and the home LAN",
};

function renderTable(name: TableName, entries: readonly string[]): string {
  return `table <${name}> const { ${entries.join(" ")} }  # ${TABLE_COMMENTS[name]}`;
}

/** renderAddr writes an address of a rule. */
export function renderAddr(a: PolicyAddr, uplink: string): string {
  switch (a.kind) {
    case "any":
      return "any";
    case "host":
      return a.ip;
    case "net":
      return a.cidr.endsWith("/32") ? a.cidr.slice(0, -3) : a.cidr;
    case "table":
      return `${a.negate ? "! " : ""}<${a.table}>`;
    case "uplink":
      return `(${uplink})`;
  }
}

/** renderNat writes one outgoing translation (pf.conf(5) nat-rule: hosts, then tag, then ->). */
export function renderNat(r: NatRule, uplink: string): string {
  return `nat on ${uplink} inet proto ${r.proto} from ${r.from} to ${renderAddr(r.to, uplink)} port ${r.port} tag ${r.tag} -> (${uplink})`;
}

/** renderRdr writes one incoming redirection; the port stays the same. */
export function renderRdr(r: RdrRule, uplink: string): string {
  return `rdr on ${uplink} inet proto ${r.proto} from any to (${uplink}) port ${r.port} -> ${r.target}`;
}

/**
 * renderFilter writes one filter rule in parse.y's order: action, direction, quick,
 * interface, route, address family, protocol, hosts and port, then options (`tagged`, state).
 */
export function renderFilter(r: FilterRule, uplink: string): string {
  const parts: string[] = [r.action === "block" ? "block drop" : "pass"];
  if (r.direction !== "any") parts.push(r.direction);
  parts.push("quick");
  if (r.onUplink) parts.push(`on ${uplink}`);
  if (r.routeTo !== undefined) parts.push(`route-to (${uplink} ${r.routeTo})`);
  if (r.replyTo !== undefined) parts.push(`reply-to (${uplink} ${r.replyTo})`);
  parts.push("inet");
  if (r.proto !== undefined) parts.push(`proto ${r.proto}`);
  if (r.from.kind === "any" && r.to.kind === "any" && r.port === undefined) parts.push("all");
  else parts.push(`from ${renderAddr(r.from, uplink)} to ${renderAddr(r.to, uplink)}${r.port === undefined ? "" : ` port ${r.port}`}`);
  if (r.tagged !== undefined) parts.push(`tagged ${r.tagged}`);
  if (r.action === "pass") parts.push("keep state");
  return parts.join(" ");
}

function withOrigin(rule: string, origin: RuleOrigin): string {
  const at = origin.where === undefined ? "" : `${origin.where.file}:${origin.where.line}:${origin.where.column} `;
  return `${rule}  # ${commentText(`${at}${origin.text}`)}`;
}

/**
 * commentText keeps a comment on its line: pfctl's lexer joins a line ending in a backslash to
 * the next one, comments included, and a newline would end the comment. What comes from the
 * repo is checked before it gets here; this holds whatever the checks become.
 */
export function commentText(text: string): string {
  return text.replace(/[^\x20-\x5b\x5d-\x7e]/g, "?");
}
