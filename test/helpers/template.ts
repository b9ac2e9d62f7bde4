/** The starter cluster repo as an in-memory snapshot that tests can edit file by file. */
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
