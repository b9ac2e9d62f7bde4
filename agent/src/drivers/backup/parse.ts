/**
 * Reading what the backup driver's commands print. Pure: text and exit codes in, data out.
 */
import type { RunResult } from "../../exec.js";
import { MANAGED_PROPERTY } from "../zfs/commands.js";
import { isManaged, parseZfsGet, isDatasetMissing } from "../zfs/parse.js";
import { compareSnapshotNames } from "./names.js";
import type { LocalBookmark, LocalDataset, LocalSnapshot, ZfsFeatures } from "./types.js";

/** The sizes `zfs get -p` printed for one filesystem or snapshot; `-` (not applicable) is none. */
interface Sizes {
  referenced?: number;
  written?: number;
}

/** addSize keeps a `referenced` or `written` row's value, when it is a number of bytes. */
function addSize(into: Sizes, property: string, value: string): void {
  if ((property === "referenced" || property === "written") && /^\d+$/.test(value)) into[property] = Number(value);
}

/**
 * parseLocal groups `zfs get -rHp -o name,property,value,source guid,userrefs,referenced[,written]`
 * rows into filesystems with their snapshots (oldest first, by the time in a Steward name, else
 * by name) and bookmarks, each with the sizes printed (none when the property is absent or
 * `-`). A `-` hold count (filesystems print it) reads as 0. Other properties are ignored.
 */
export function parseLocal(stdout: string): Record<string, LocalDataset> {
  const rows = parseZfsGet(stdout);
  const fs = new Map<string, Sizes>();
  const managed = new Set<string>();
  const snaps = new Map<string, Map<string, { guid: string; userrefs: number } & Sizes>>();
  const marks = new Map<string, Map<string, string>>();
  for (const r of rows) {
    const at = r.name.indexOf("@");
    const hash = r.name.indexOf("#");
    if (at < 0 && hash < 0) {
      const sizes = fs.get(r.name) ?? {};
      fs.set(r.name, sizes);
      addSize(sizes, r.property, r.value);
      if (r.property === MANAGED_PROPERTY && isManaged(r)) managed.add(r.name);
      continue;
    }
    if (at >= 0) {
      const base = r.name.slice(0, at);
      const byName = snaps.get(base) ?? new Map<string, { guid: string; userrefs: number } & Sizes>();
      const s = byName.get(r.name.slice(at + 1)) ?? { guid: "", userrefs: 0 };
      if (r.property === "guid") s.guid = r.value;
      if (r.property === "userrefs") s.userrefs = /^\d+$/.test(r.value) ? Number(r.value) : 0;
      addSize(s, r.property, r.value);
      byName.set(r.name.slice(at + 1), s);
      snaps.set(base, byName);
    } else if (r.property === "guid") {
      const base = r.name.slice(0, hash);
      const byName = marks.get(base) ?? new Map<string, string>();
      byName.set(r.name.slice(hash + 1), r.value);
      marks.set(base, byName);
    }
  }
  const out: Record<string, LocalDataset> = {};
  for (const [name, sizes] of [...fs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const snapshots: LocalSnapshot[] = [...(snaps.get(name) ?? new Map<string, { guid: string; userrefs: number } & Sizes>())]
      .map(([n, s]) => ({ name: n, ...s }))
      .sort((a, b) => compareSnapshotNames(a.name, b.name));
    const bookmarks: LocalBookmark[] = [...(marks.get(name) ?? new Map<string, string>())].map(([n, guid]) => ({ name: n, guid })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    out[name] = { name, managed: managed.has(name), snapshots, bookmarks, ...sizes };
  }
  return out;
}

/** What `zfs get -r` on the root said: rows, the root absent, or a failure. */
export type LocalResult = { readonly kind: "rows"; readonly datasets: Record<string, LocalDataset> } | { readonly kind: "absent" } | { readonly kind: "failed" };

/** parseLocalResult reads the observe call's result: a missing root is an observation (nothing made yet). */
export function parseLocalResult(root: string, r: Pick<RunResult, "exitCode" | "stdout" | "stderr" | "timedOut">): LocalResult {
  if (r.exitCode === 0 && !r.timedOut) return { kind: "rows", datasets: parseLocal(r.stdout) };
  if (r.exitCode === 1 && isDatasetMissing(r.stderr, root)) return { kind: "absent" };
  return { kind: "failed" };
}

/**
 * parsePools reads `zpool list -H -o name,version`: the imported pools, and whether `pool`
 * has feature flags (`-`, or 5000 on older OpenZFS) or a legacy version (zfs-fuse: 23).
 */
export function parsePools(stdout: string, pool: string): { readonly pools: readonly string[]; readonly features: ZfsFeatures } {
  const pools: string[] = [];
  let features: ZfsFeatures = "legacy";
  for (const line of stdout.split("\n")) {
    const [name, version] = line.split("\t");
    if (name === undefined || name === "") continue;
    pools.push(name);
    if (name === pool && (version === "-" || Number(version) >= 5000)) features = "openzfs";
  }
  return { pools: pools.sort(), features };
}
