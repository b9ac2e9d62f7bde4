/**
 * Reading what `zfs` printed (zfs(8), zfs-get(8), zfsprops(7)). Pure: text and exit codes in, data out.
 * Each parser reads the exit code itself: "dataset does not exist" is an observation here,
 * not an error.
 */
import type { RunResult } from "../../exec.js";
import { MANAGED_PROPERTY, MANAGED_VALUE } from "./commands.js";
import { noneIsZero } from "./properties.js";
import type { ObservedDataset, ObservedProperty, PropertySource, ZfsGetRow } from "./types.js";

/** The part of a process result the parsers read. */
export type CommandResult = Pick<RunResult, "exitCode" | "stdout" | "stderr" | "timedOut"> & { readonly spawnError?: string };

const INHERITED = "inherited from ";

/** parseSource reads the source column: `local`, `default`, `inherited from X`, `received`, `temporary`, `-`. */
export function parseSource(text: string): { source: PropertySource; inheritedFrom?: string } {
  if (text.startsWith(INHERITED)) return { source: "inherited", inheritedFrom: text.slice(INHERITED.length) };
  switch (text) {
    case "local":
    case "default":
    case "received":
    case "temporary":
      return { source: text };
    default:
      return { source: "none" };
  }
}

/**
 * parseZfsGet splits `zfs get -Hp -o name,property,value,source` output into rows. Columns are
 * split on TAB only (values may hold spaces). Names and property names hold no TAB and the
 * source holds none, so a value holding TABs is whatever lies between; a value holding a
 * newline continues on the next line until the row has its four columns. Never throws:
 * a trailing fragment that never completes is dropped.
 */
export function parseZfsGet(stdout: string): ZfsGetRow[] {
  const rows: ZfsGetRow[] = [];
  let pending: string | undefined;
  for (const line of stdout.split("\n")) {
    const text = pending === undefined ? line : `${pending}\n${line}`;
    if (text === "") continue;
    const fields = text.split("\t");
    if (fields.length < 4) {
      pending = text;
      continue;
    }
    pending = undefined;
    const name = fields[0] as string;
    const property = fields[1] as string;
    const source = fields[fields.length - 1] as string;
    const value = fields.slice(2, -1).join("\t");
    rows.push({ name, property, value, ...parseSource(source) });
  }
  return rows;
}

/** isSnapshotOrBookmark tells rows of snapshots (`a@s`) and bookmarks (`a#b`) that `-r` adds. */
export function isSnapshotOrBookmark(name: string): boolean {
  return name.includes("@") || name.includes("#");
}

/** isManaged decides whether a marker row makes a dataset Steward's: `yes`, set here, not inherited. */
export function isManaged(marker: ObservedProperty | undefined): boolean {
  return marker !== undefined && marker.value === MANAGED_VALUE && (marker.source === "local" || marker.source === "received");
}

/**
 * toObservedDatasets groups rows by dataset, in name order. Snapshot rows only count towards
 * their dataset's `snapshots`; bookmark rows are dropped. The marker and guid become
 * `managed` and `guid`; every other row lands in `properties`.
 */
export function toObservedDatasets(rows: readonly ZfsGetRow[]): ObservedDataset[] {
  const byName = new Map<string, { props: Record<string, ObservedProperty>; marker?: ObservedProperty; guid?: string }>();
  const snapshots = new Map<string, Set<string>>();
  for (const row of rows) {
    if (row.name.includes("#")) continue;
    const at = row.name.indexOf("@");
    if (at >= 0) {
      const base = row.name.slice(0, at);
      const set = snapshots.get(base) ?? new Set<string>();
      set.add(row.name);
      snapshots.set(base, set);
      continue;
    }
    let entry = byName.get(row.name);
    if (entry === undefined) {
      entry = { props: {} };
      byName.set(row.name, entry);
    }
    const observed: ObservedProperty = row.inheritedFrom === undefined ? { value: row.value, source: row.source } : { value: row.value, source: row.source, inheritedFrom: row.inheritedFrom };
    if (row.property === MANAGED_PROPERTY) entry.marker = observed;
    else if (row.property === "guid") entry.guid = row.value;
    else entry.props[row.property] = observed;
  }
  return [...byName.entries()]
    .sort(([a], [b]) => compareDatasetNames(a, b))
    .map(([name, e]) => ({
      name,
      managed: isManaged(e.marker),
      guid: e.guid,
      snapshots: snapshots.get(name)?.size ?? 0,
      snapshotNames: [...(snapshots.get(name) ?? [])].map((full) => full.slice(full.indexOf("@") + 1)).sort(),
      properties: e.props,
    }));
}

/**
 * compareDatasetNames orders names as a tree walk: by path component, so a parent comes right
 * before its children (`a/b`, `a/b/c`, `a/b-x`).
 */
export function compareDatasetNames(a: string, b: string): number {
  const pa = a.split("/");
  const pb = b.split("/");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** parentOf names a dataset's parent, or undefined for a pool. */
export function parentOf(name: string): string | undefined {
  const i = name.lastIndexOf("/");
  return i < 0 ? undefined : name.slice(0, i);
}

/** isDatasetMissing reads stderr for `cannot open '<name>': dataset does not exist` on its first line. */
export function isDatasetMissing(stderr: string, name: string): boolean {
  const first = stderr.split("\n", 1)[0] ?? "";
  return first.startsWith(`cannot open '${name}': dataset does not exist`);
}

/** isZfsUnavailable recognises the library failing to start: zfs-fuse daemon down, module not loaded. */
export function isZfsUnavailable(stderr: string): boolean {
  return stderr.includes("failed to initialize ZFS library");
}

/** What the observe call found. */
export type ObserveParse =
  | { readonly kind: "rows"; readonly rows: ZfsGetRow[] }
  | { readonly kind: "absent" }
  | { readonly kind: "failed"; readonly unavailable: boolean };

/**
 * parseObserveResult reads the result of the observe call on `root`: rows on exit 0; `absent`
 * when root does not exist (exit 1, `cannot open 'root': dataset does not exist`: nothing was
 * ever created); `failed` otherwise (usage exit 2, daemon down, timeout, spawn error).
 */
export function parseObserveResult(root: string, result: CommandResult): ObserveParse {
  if (result.exitCode === 0 && !result.timedOut) return { kind: "rows", rows: parseZfsGet(result.stdout) };
  if (result.exitCode === 1 && isDatasetMissing(result.stderr, root)) return { kind: "absent" };
  return { kind: "failed", unavailable: isZfsUnavailable(result.stderr) };
}

/** What `zfs get -Hp -o value guid NAME` found. */
export type GuidParse = { readonly kind: "guid"; readonly guid: string } | { readonly kind: "absent" } | { readonly kind: "failed" };

/** parseGuidResult reads the guid check before a destroy; a missing dataset is `absent`, not a failure. */
export function parseGuidResult(name: string, result: CommandResult): GuidParse {
  if (result.exitCode === 0 && !result.timedOut) {
    const guid = result.stdout.trim();
    return /^\d+$/.test(guid) ? { kind: "guid", guid } : { kind: "failed" };
  }
  if (result.exitCode === 1 && isDatasetMissing(result.stderr, name)) return { kind: "absent" };
  return { kind: "failed" };
}

/**
 * normalizeValue maps values zfs treats as one to one spelling, so that a converged dataset
 * compares equal: `gzip-6` reads back as `gzip` (same algorithm; zfs-fuse and OpenZFS both
 * print the first name in their table), and `-p` prints an unset quota as `0`, not `none`.
 */
export function normalizeValue(property: string, value: string): string {
  if (property === "compression" && value === "gzip-6") return "gzip";
  if (noneIsZero(property) && value === "none") return "0";
  return value;
}

/** isSameValue compares a desired and an observed value as zfs means them. */
export function isSameValue(property: string, desired: string, observed: string): boolean {
  return normalizeValue(property, desired) === normalizeValue(property, observed);
}
