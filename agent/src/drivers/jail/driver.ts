/**
 * The jail driver on the seam (drivers/driver.ts): one thin jail per service (docs/jails.md) —
 * its root a clone of the node's base release (made by the ZFS driver), a jail.conf(5) file,
 * packages, rc.conf variables, files, and its rc services, each restarted only when something
 * it depends on changed.
 */
import { createHash } from "node:crypto";
import type { DesiredState } from "../../manifest/types.js";
import { jailRootName } from "../../manifest/desired.js";
import { jailRoot } from "../../manifest/paths.js";
import { assertNever } from "../../plan/assert-never.js";
import type { Driver } from "../driver.js";
import { datasetResource } from "../zfs/plan.js";
import { renderConf } from "./conf.js";
import { observeHealth } from "./health.js";
import { observeJails } from "./observe.js";
import { planJails } from "./plan.js";
import { nextJailRecord } from "./record.js";
import { writeJailRecord } from "./state.js";
import type { JailAction, JailDesired, JailFinding, JailObserved, JailSpec, ObservedJail } from "./types.js";

/** Where jail addresses live: an alias on a cloned loopback, added and removed by jail(8). */
export const JAIL_INTERFACE = "lo1";
const DEFAULT_CONF_DIR = "/etc/jail.conf.d";

/** sliceJails resolves every jail of a node from its desired state. Pure. */
export function sliceJails(desired: DesiredState): JailDesired {
  const confDir = desired.host?.jailConfDir ?? DEFAULT_CONF_DIR;
  const node = desired.node;
  const jails = desired.services.map((s): JailSpec => {
    const root = jailRoot(node.jails, s.name);
    const hostname = `${s.name}.${desired.cluster.domain}`;
    const conf = renderConf({ name: s.name, root, hostname, ip: s.ip, jailInterface: JAIL_INTERFACE });
    const bytes = Buffer.from(conf, "utf8");
    const datasets = [datasetResource(jailRootName(node.pool, s.name)), ...desired.datasets.filter((d) => d.owner === s.name && d.role === undefined).map((d) => datasetResource(d.name))];
    return {
      name: s.name,
      hostname,
      ip: s.ip,
      root,
      datasets,
      confPath: `${confDir}/${s.name}.conf`,
      conf,
      confContent: { sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length },
      packages: [...s.packages].sort(),
      services: [...s.services],
      rc: { ...s.rc },
      files: s.files.flatMap((f) =>
        f.content === undefined
          ? []
          : [{ path: f.path, hostPath: `${root}${f.path}`, content: f.content, mode: f.mode === undefined ? 0o644 : Number.parseInt(f.mode, 8), owner: f.owner, restart: [...f.restart] }],
      ),
      drift: s.drift,
    };
  });
  return { confDir, jailInterface: JAIL_INTERFACE, jails: jails.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

export const jailDriver: Driver<JailDesired, JailObserved, JailAction, JailFinding> = {
  name: "jail",
  slice: sliceJails,
  observe: observeJails,
  plan: planJails,

  contents(slice) {
    return new Map(slice.jails.map((j) => [j.confContent.sha256, Buffer.from(j.conf, "utf8")]));
  },

  renderAction(a: JailAction): string {
    switch (a.kind) {
      case "jail.conf":
        return `${a.before === null ? "+" : "~"} conf    ${a.jail}  (${a.reason})`;
      case "jail.start":
        return `+ start   jail ${a.jail}  (${a.reason})`;
      case "jail.recreate":
        return `~ recreate jail ${a.jail}  (${a.reason})`;
      case "jail.pkg-install":
        return `+ pkg     ${a.jail}: ${a.packages.join(" ")}  (${a.reason})`;
      case "jail.pkg-delete":
        return `- pkg     ${a.jail}: ${a.packages.join(" ")}  (${a.reason})`;
      case "jail.rc":
        return `~ rc.conf ${a.jail}: ${Object.entries(a.after).map(([k, v]) => (v === "" ? `-${k}` : `${k}=${v}`)).join(" ")}  (${a.cause})`;
      case "jail.file":
        return `${a.before === null ? "+" : "~"} file    ${a.jail}:${a.path}  (${a.reason})`;
      case "jail.service-restart":
        return `~ service ${a.jail}:${a.service}  (${a.reason})`;
      case "jail.remove":
        return `- remove  jail ${a.jail}  (${a.reason})`;
      case "jail.host":
        return `~ host    ${Object.entries(a.after).map(([k, v]) => `${k}="${v}"`).join(" ")}  (${a.reason})`;
      default:
        return assertNever(a, "jail action");
    }
  },

  async record(slice, observed, part, outcomes, ctx) {
    await writeJailRecord(ctx.stateDir, nextJailRecord(observed.applied, slice, observed, part.actions, outcomes));
  },

  /** Each desired jail (its conf file, packages, and rc.conf under its root), each of its files by host path, and each rc.conf variable its plan reads. */
  scope(slice: JailDesired): string[] {
    return slice.jails.flatMap((j) => [`jail ${j.name} at ${j.root} (${j.confPath})`, ...j.files.map((f) => `file ${f.hostPath}`), ...Object.keys(j.rc).map((k) => `rc.conf ${j.name}:${k}`)]);
  },

  /**
   * A jail's rc.conf may hold what its admin set by hand, secrets included: only the variables
   * the plan reads are reported, those the manifest sets and those Steward set before (to unset).
   */
  redact(slice: JailDesired, observed: JailObserved): JailObserved {
    const jails: Record<string, ObservedJail> = {};
    for (const [name, j] of Object.entries(observed.jails)) {
      const keep = new Set([...Object.keys(slice.jails.find((s) => s.name === name)?.rc ?? {}), ...Object.keys(observed.applied.jails[name]?.rc ?? {})]);
      jails[name] = j.rc === undefined ? j : { ...j, rc: Object.fromEntries(Object.entries(j.rc).filter(([k]) => keep.has(k))) };
    }
    return { ...observed, jails };
  },

  health(slice, executor, options) {
    return observeHealth(executor, slice, options);
  },
};
