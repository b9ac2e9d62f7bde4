/**
 * Fault injection for tests of Steward's error handling. Faults come from
 * `$STEWARD_SIM_ROOT/faults.json` and from the variable STEWARD_SIM_FAULTS (the same JSON;
 * its lists are added to the file's). Each entry names an item anywhere (`nginx`), in one
 * jail (`web:nginx`) or on the host only (`host:nginx`). See sim/README.md for the effects.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SimConfigError } from "./state.js";

export interface Faults {
  /** `pkg install` of these packages fails: `pkg: PRE-INSTALL script failed`, exit 3. */
  readonly pkgInstallFail?: readonly string[];
  /** `pkg delete` of these packages fails: `pkg: PRE-DEINSTALL script failed`, exit 3. */
  readonly pkgDeleteFail?: readonly string[];
  /** Starting these rc scripts fails: `/usr/local/etc/rc.d/X: WARNING: failed to start X`, exit 1. */
  readonly serviceStartFail?: readonly string[];
  /** Stopping these rc scripts fails: the kill fails and the daemon keeps running, exit 1. */
  readonly serviceStopFail?: readonly string[];
  /** These jail(8) commands exit 1: `web:exec.start`, `exec.prestart` (every jail). */
  readonly execFail?: readonly string[];
  /** jail_set(2) refuses to create these jails with the message given: `{"web": "jail_set: Cannot allocate memory"}`. */
  readonly jailCreateFail?: Readonly<Record<string, string>>;
  /**
   * These commands hang before doing anything: a tool started on the host (`jail`, `host:pkg`)
   * or a command run inside a jail (`web:mv`, `web:service`). Each records itself in
   * `hung.jsonl` first, so a test knows when to kill what started it.
   */
  readonly hang?: readonly string[];
  /** How long a hung command waits before it goes on as if nothing happened (default 10 minutes). */
  readonly hangMs?: number;
}

const LISTS = ["pkgInstallFail", "pkgDeleteFail", "serviceStartFail", "serviceStopFail", "execFail", "hang"] as const;
const DEFAULT_HANG_MS = 10 * 60_000;

function parseFaults(text: string, where: string): Faults {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new SimConfigError(`${where}: not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new SimConfigError(`${where}: must be a JSON object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (![...LISTS, "jailCreateFail", "hangMs"].includes(k)) throw new SimConfigError(`${where}: unknown fault "${k}"`);
  }
  for (const k of LISTS) {
    const l = o[k];
    if (l !== undefined && (!Array.isArray(l) || l.some((x) => typeof x !== "string"))) throw new SimConfigError(`${where}: ${k} must be a list of strings`);
  }
  const jc = o.jailCreateFail;
  if (jc !== undefined && (typeof jc !== "object" || jc === null || Array.isArray(jc) || Object.values(jc).some((x) => typeof x !== "string"))) {
    throw new SimConfigError(`${where}: jailCreateFail must map jail names to messages`);
  }
  const ms = o.hangMs;
  if (ms !== undefined && (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0)) throw new SimConfigError(`${where}: hangMs must be a whole number of milliseconds`);
  return o as Faults;
}

/** loadFaults reads the fault file and the variable; throws on malformed JSON so a test's typo is loud. */
export function loadFaults(sim: string, env: Readonly<Record<string, string | undefined>>): Faults {
  const path = join(sim, "faults.json");
  const fromFile = existsSync(path) ? parseFaults(readFileSync(path, "utf8"), path) : {};
  const raw = env.STEWARD_SIM_FAULTS;
  const fromEnv = raw === undefined || raw === "" ? {} : parseFaults(raw, "STEWARD_SIM_FAULTS");
  const merged: Record<string, unknown> = {};
  for (const k of LISTS) {
    const l = [...(fromFile[k] ?? []), ...(fromEnv[k] ?? [])];
    if (l.length > 0) merged[k] = l;
  }
  merged.jailCreateFail = { ...(fromFile.jailCreateFail ?? {}), ...(fromEnv.jailCreateFail ?? {}) };
  const hangMs = fromEnv.hangMs ?? fromFile.hangMs;
  if (hangMs !== undefined) merged.hangMs = hangMs;
  return merged as Faults;
}

/**
 * hangIfFaulted blocks this process when the `hang` fault names `item` in `jail` (undefined =
 * the host): it appends `{time, pid, jail, item, argv}` to `$STEWARD_SIM_ROOT/hung.jsonl`, then
 * sleeps (the whole process: nothing else runs, as a wedged tool) for `hangMs`, or until killed.
 */
export function hangIfFaulted(sim: string, faults: Faults, jail: string | undefined, item: string, argv: readonly string[]): void {
  if (!faultHits(faults.hang, jail, item)) return;
  appendFileSync(join(sim, "hung.jsonl"), `${JSON.stringify({ time: new Date().toISOString(), pid: process.pid, jail: jail ?? "host", item, argv })}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, faults.hangMs ?? DEFAULT_HANG_MS);
}

/** faultHits says whether `list` names `item` in the jail called `jail` (undefined = the host). */
export function faultHits(list: readonly string[] | undefined, jail: string | undefined, item: string): boolean {
  if (list === undefined) return false;
  const scope = jail ?? "host";
  return list.some((e) => e === item || e === `${scope}:${item}` || e === `*:${item}`);
}
