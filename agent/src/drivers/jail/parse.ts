/**
 * Reading what the jail tools printed and what rc.conf files say (jls(8) with libxo, pkg(8)
 * query, sysrc(8), rc.conf(5)). Pure: text and exit codes in, data out.
 */
import type { RunResult } from "../../exec.js";
import type { ObservedHost, RunningJail } from "./types.js";

type Result = Pick<RunResult, "exitCode" | "stdout" | "stderr" | "timedOut">;

/**
 * parseJls reads `jls --libxo json jid name path host.hostname ip4.addr`: with explicit
 * parameters every value is a string and ip4.addr a list. Returns undefined for output that is
 * not that shape (the caller reports the observe as failed).
 */
export function parseJls(r: Result): RunningJail[] | undefined {
  if (r.exitCode !== 0 || r.timedOut) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    return undefined;
  }
  const list = (doc as { "jail-information"?: { jail?: unknown } } | null)?.["jail-information"]?.jail;
  if (!Array.isArray(list)) return undefined;
  const out: RunningJail[] = [];
  for (const j of list as Record<string, unknown>[]) {
    const str = (k: string): string | undefined => (typeof j[k] === "string" ? (j[k] as string) : typeof j[k] === "number" ? String(j[k]) : undefined);
    const name = str("name");
    const jid = str("jid");
    if (name === undefined || jid === undefined) return undefined;
    const ip = j["ip4.addr"];
    const ip4 = Array.isArray(ip) ? ip.filter((x): x is string => typeof x === "string") : typeof ip === "string" && ip !== "" && ip !== "-" ? [ip] : [];
    out.push({ jid, name, path: str("path") ?? "", hostname: str("host.hostname") ?? "", ip4 });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** parsePkgQuery reads `pkg query -a %n`: one package name per line. Undefined on failure. */
export function parsePkgQuery(r: Result): string[] | undefined {
  if (r.exitCode !== 0 || r.timedOut) return undefined;
  return r.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .sort();
}

/** parseHostRc reads `sysrc -i jail_enable jail_list cloned_interfaces`: `name: value` lines. */
export function parseHostRc(r: Result): ObservedHost | undefined {
  if (r.timedOut || (r.exitCode !== 0 && r.stdout === "")) return undefined;
  const values = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const at = line.indexOf(": ");
    if (at > 0) values.set(line.slice(0, at), line.slice(at + 2).trim());
    else if (line.endsWith(":")) values.set(line.slice(0, -1), "");
  }
  const list = (name: string): string[] => (values.get(name) ?? "").split(/\s+/).filter((w) => w !== "");
  return { jailEnable: values.get("jail_enable"), jailList: list("jail_list"), clonedInterfaces: list("cloned_interfaces") };
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(?:"((?:[^"\\$`]|\\.)*)"|'([^']*)'|([^\s"'`$;&|<>()\\]*))\s*(?:#.*)?$/;

/**
 * parseRcConf reads the plain assignments of an rc.conf(5) file, as sysrc(8) writes them
 * (`name="value"`), later ones winning. Lines it cannot read as a plain assignment (shell code)
 * are skipped: Steward only compares the variables it sets.
 */
export function parseRcConf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = ASSIGNMENT.exec(line);
    if (m === null) continue;
    const name = m[1] as string;
    out[name] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? m[4] ?? "");
  }
  return out;
}
