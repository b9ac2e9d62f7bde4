/** The starter cluster repo as an in-memory snapshot that tests can edit file by file, or on disk on one node. */
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSnapshotFromDir } from "../../agent/src/source/dir.js";
import type { RepoSnapshot } from "../../agent/src/manifest/types.js";

import { REPO_ROOT } from "./cli.js";

export const TEMPLATE_DIR = `${REPO_ROOT}/cluster-repo-template`;

/**
 * templateWith returns the template with some manifests replaced (a string), removed (null),
 * or edited (a function of the current text). Other paths may be added with `extraPaths`.
 */
export async function templateWith(
  edits: Readonly<Record<string, string | null | ((text: string) => string)>> = {},
  extraPaths: readonly string[] = [],
): Promise<RepoSnapshot> {
  const base = await readSnapshotFromDir(TEMPLATE_DIR);
  const manifests = new Map(base.manifests);
  const paths = new Set([...base.paths, ...extraPaths]);
  for (const [path, edit] of Object.entries(edits)) {
    if (edit === null) {
      manifests.delete(path);
      paths.delete(path);
    } else if (typeof edit === "function") {
      const current = manifests.get(path);
      if (current === undefined) throw new Error(`templateWith: no ${path} in the template`);
      manifests.set(path, edit(current));
    } else {
      manifests.set(path, edit);
      paths.add(path);
    }
  }
  return { manifests, paths };
}

/**
 * templateOnOneNode writes the template to `dest` with every service on node alpha, a node on
 * `pool` whose jail roots are under `<poolDir>/jails`, and gzip instead of lz4 (zfs-fuse has
 * no lz4): the six services of the template, converged on one machine.
 */
export function templateOnOneNode(dest: string, pool: { readonly name: string; readonly dir: string }): void {
  rmSync(dest, { recursive: true, force: true });
  cpSync(TEMPLATE_DIR, dest, { recursive: true });
  writeFileSync(join(dest, "nodes", "alpha.yaml"), `arch: amd64\npool: ${pool.name}\ninterface: em0\nssh: 2222\njails: ${pool.dir}/jails\n`);
  writeFileSync(join(dest, "cluster.yaml"), readFileSync(join(dest, "cluster.yaml"), "utf8").replace("compression: lz4", "compression: gzip"));
  for (const f of readdirSync(join(dest, "services"))) {
    const path = join(dest, "services", f);
    writeFileSync(path, readFileSync(path, "utf8").replace(/^node: .*$/m, "node: alpha"));
  }
}
