/**
 * The simulated pf kernel: rulesets per anchor path, tables per anchor, the enabled flag and
 * the global options, as JSON under $STEWARD_SIM_ROOT/pf/. Reads are lock-free (the file is only
 * ever replaced by rename); every change runs under pf/kernel.lock, an O_EXCL lock file holding
 * the owner's pid, so concurrent pfctl processes serialise instead of losing updates.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Ruleset } from "./rule.js";
import { emptyRuleset, isRulesetEmpty } from "./rule.js";
import type { TableEntry } from "./tables.js";

export interface KTable {
  anchor: string;
  name: string;
  const: boolean;
  persist: boolean;
  counters: boolean;
  entries: TableEntry[];
}

export interface KAnchor {
  ruleset: Ruleset;
  cuid: number;
  cpid: number;
}

export interface Kernel {
  version: 1;
  enabled: boolean;
  since: number; // seconds; when pf was last enabled or disabled
  anchors: Record<string, KAnchor>; // "" is the main ruleset
  tables: KTable[];
  limits: Record<string, number>;
  timeouts: Record<string, number>;
  debug: string;
  loginterface: string | null;
  hostid: number;
  skip: string[];
}

export const DEFAULT_TIMEOUTS: Record<string, number> = {
  "tcp.first": 120, "tcp.opening": 30, "tcp.established": 86400, "tcp.closing": 900, "tcp.finwait": 45,
  "tcp.closed": 90, "tcp.tsdiff": 30, "udp.first": 60, "udp.single": 30, "udp.multiple": 60, "icmp.first": 20,
  "icmp.error": 10, "other.first": 60, "other.single": 30, "other.multiple": 60, frag: 30, interval: 10,
  "adaptive.start": 60000, "adaptive.end": 120000, "src.track": 0,
};
export const DEFAULT_LIMITS: Record<string, number> = { states: 100000, "src-nodes": 10000, frags: 5000, "table-entries": 200000 };

export function emptyKernel(): Kernel {
  return {
    version: 1, enabled: false, since: Math.floor(Date.now() / 1000), anchors: { "": { ruleset: emptyRuleset(), cuid: 0, cpid: 0 } }, tables: [],
    limits: { ...DEFAULT_LIMITS }, timeouts: { ...DEFAULT_TIMEOUTS }, debug: "urgent", loginterface: null, hostid: 0, skip: [],
  };
}

export class SimRootMissing extends Error {}

/** The pf/ folder of the simulator state; STEWARD_SIM_ROOT must name an existing directory. */
export function pfDir(env: NodeJS.ProcessEnv, create = true): string {
  const root = env["STEWARD_SIM_ROOT"];
  if (!root) throw new SimRootMissing("STEWARD_SIM_ROOT is not set: the pfctl simulator keeps its kernel state there");
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new SimRootMissing(`STEWARD_SIM_ROOT=${root} is not a directory`);
  const dir = path.join(root, "pf");
  if (create) fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function readKernel(dir: string): Kernel {
  const file = path.join(dir, "kernel.json");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return emptyKernel();
  }
  let k: Kernel;
  try {
    k = JSON.parse(text) as Kernel;
  } catch (e) {
    throw new SimRootMissing(`${file} is not valid simulator state (${(e as Error).message}); remove it to start from an empty kernel`);
  }
  if (!k.anchors[""]) k.anchors[""] = { ruleset: emptyRuleset(), cuid: 0, cpid: 0 };
  return k;
}

function writeKernel(dir: string, k: Kernel): void {
  const tmp = path.join(dir, `.kernel.json.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(k));
  fs.renameSync(tmp, path.join(dir, "kernel.json"));
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Runs `fn` on the kernel under the lock and writes what it returns; null leaves it unchanged. */
export function updateKernel<T>(dir: string, fn: (k: Kernel) => { kernel: Kernel | null; result: T }): T {
  const lock = path.join(dir, "kernel.lock");
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const fd = fs.openSync(lock, "wx");
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let owner = 0;
      try {
        owner = Number(fs.readFileSync(lock, "utf8"));
      } catch {
        continue;
      }
      if (owner && !pidAlive(owner)) {
        try {
          fs.unlinkSync(lock);
        } catch {
          /* someone else removed it */
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error("pf kernel lock timeout");
      sleepMs(5);
    }
  }
  try {
    const { kernel, result } = fn(readKernel(dir));
    if (kernel) writeKernel(dir, kernel);
    return result;
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

// ---- faults -----------------------------------------------------------------------------------

export type Fault = "load" | "ebusy";

/**
 * The fault switch: pf/fail-next holds "load" or "ebusy" and fails the next ruleset load once
 * (the file is removed); STEWARD_SIM_PF_FAIL=load|ebusy fails every load of that process.
 */
export function takeFault(dir: string, env: NodeJS.ProcessEnv): Fault | null {
  const e = env["STEWARD_SIM_PF_FAIL"];
  if (e === "load" || e === "ebusy") return e;
  const f = path.join(dir, "fail-next");
  let v: string;
  try {
    v = fs.readFileSync(f, "utf8").trim();
  } catch {
    return null;
  }
  fs.rmSync(f, { force: true });
  return v === "ebusy" ? "ebusy" : "load";
}

// ---- anchors ----------------------------------------------------------------------------------

/** The absolute anchor an anchor rule in `from` calls, and whether it is a wildcard. */
export function resolveCall(from: string, call: string): { path: string; wildcard: boolean } {
  let c = call;
  let wildcard = false;
  if (c === "*") {
    wildcard = true;
    c = "";
  } else if (c.endsWith("/*")) {
    wildcard = true;
    c = c.slice(0, -2);
  }
  const parts = c.startsWith("/") ? [] : from.split("/").filter(Boolean);
  for (const p of c.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return { path: parts.join("/"), wildcard };
}

export function ensureAnchor(k: Kernel, p: string): KAnchor {
  const parts = p.split("/").filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const q = parts.slice(0, i).join("/");
    if (!k.anchors[q]) k.anchors[q] = { ruleset: emptyRuleset(), cuid: 0, cpid: 0 };
  }
  return k.anchors[p] as KAnchor;
}

function referencedAnchors(k: Kernel): Set<string> {
  const refs = new Set<string>();
  for (const [p, a] of Object.entries(k.anchors)) {
    for (const kind of ["filter", "nat", "rdr", "binat"] as const)
      for (const r of a.ruleset[kind]) if (r.anchor) refs.add(resolveCall(p, r.anchor.path).path);
    for (const r of a.ruleset.ether ?? []) if (r.anchor) refs.add(resolveCall(p, r.anchor.path).path);
  }
  return refs;
}

/** Tables referenced by rules: the anchor's own table if it has one, else the main ruleset's. */
function referencedTables(k: Kernel): Set<string> {
  const refs = new Set<string>();
  const add = (anchor: string, name: string): void => {
    const own = k.tables.some((t) => t.anchor === anchor && t.name === name);
    refs.add(own ? `${anchor}\0${name}` : `\0${name}`);
  };
  for (const [p, a] of Object.entries(k.anchors))
    for (const kind of ["scrub", "filter", "nat", "rdr", "binat"] as const)
      for (const r of a.ruleset[kind]) {
        for (const w of [r.src.addr, r.dst.addr, ...r.rpool.addrs.map((x) => x.addr)]) if (w.type === "table") add(p, w.tblname);
        if (r.overload) add(p, r.overload);
      }
  return refs;
}

/** pf_remove_if_empty_ruleset and table deactivation, after any change. */
export function prune(k: Kernel): void {
  const refs = referencedTables(k);
  k.tables = k.tables.filter((t) => t.persist || t.const || refs.has(`${t.anchor}\0${t.name}`));
  for (;;) {
    const used = referencedAnchors(k);
    const paths = Object.keys(k.anchors).filter((p) => p !== "");
    const removable = paths.filter((p) => {
      const a = k.anchors[p] as KAnchor;
      if (!isRulesetEmpty(a.ruleset)) return false;
      if (used.has(p)) return false;
      if (paths.some((q) => q.startsWith(p + "/"))) return false;
      if (k.tables.some((t) => t.anchor === p)) return false;
      return true;
    });
    if (!removable.length) return;
    for (const p of removable) delete k.anchors[p];
  }
}

export function childAnchors(k: Kernel, p: string): string[] {
  const prefix = p ? p + "/" : "";
  const names = new Set<string>();
  for (const q of Object.keys(k.anchors)) {
    if (q === "" || !q.startsWith(prefix) || q === p) continue;
    const rest = q.slice(prefix.length);
    names.add(rest.split("/")[0] as string);
  }
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
