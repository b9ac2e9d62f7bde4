/**
 * Reading what a peer's steward-receive `list` prints (packaging/backup/steward-receive): a
 * `features` line, then `zfs get -rHp -o name,property,value` rows below the replica root with
 * relative names. Pure.
 */
import { compareSnapshotNames } from "./names.js";
import type { TargetDataset, ZfsFeatures } from "./types.js";

/**
 * parseTargetList groups the rows by dataset (`<service>/<short>`): snapshots with guids
 * (oldest first) and a resume token when one is set (`-` is none). Containers (one path part)
 * are left out. Undefined when the first line is not a features line (not steward-receive).
 */
export function parseTargetList(stdout: string): { features: ZfsFeatures; datasets: Record<string, TargetDataset> } | undefined {
  const lines = stdout.split("\n");
  const head = /^features (openzfs|legacy)$/.exec(lines[0] ?? "");
  if (head === null) return undefined;
  return { features: head[1] as ZfsFeatures, datasets: groupRows(lines.slice(1)) };
}

/** groupRows reads `name<TAB>property<TAB>value` rows of datasets `<service>/<short>` and their snapshots. */
export function groupRows(lines: readonly string[]): Record<string, TargetDataset> {
  const snaps = new Map<string, { name: string; guid: string }[]>();
  const tokens = new Map<string, string>();
  const seen = new Set<string>();
  for (const line of lines) {
    const [name, property, value] = line.split("\t");
    if (name === undefined || property === undefined || value === undefined) continue;
    const at = name.indexOf("@");
    const base = at < 0 ? name : name.slice(0, at);
    if (base.split("/").length !== 2) continue;
    if (at < 0) {
      seen.add(base);
      if (property === "receive_resume_token" && value !== "-" && value !== "") tokens.set(base, value);
      continue;
    }
    if (property !== "guid") continue;
    snaps.set(base, [...(snaps.get(base) ?? []), { name: name.slice(at + 1), guid: value }]);
  }
  const out: Record<string, TargetDataset> = {};
  for (const base of [...seen].sort()) {
    const token = tokens.get(base);
    out[base] = { snapshots: (snaps.get(base) ?? []).sort((a, b) => compareSnapshotNames(a.name, b.name)), ...(token === undefined ? {} : { resumeToken: token }) };
  }
  return out;
}
