/**
 * A root's package database: `<root>/var/db/pkg/steward-sim-local.json`, the simulator's
 * stand-in for pkg's local.sqlite. It lives in the root itself, so what a jail has installed
 * survives the jail's restart, as on FreeBSD; a root without the file has no package database
 * (pkg's EPKG_ENODB). Changes happen under the simulator's state lock, so two pkg processes on
 * one root never lose each other's changes.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { under } from "./context.js";
import { withState } from "./state.js";

export const PKGDB_DIR = "/var/db/pkg";
export const PKGDB_FILE = `${PKGDB_DIR}/steward-sim-local.json`;

export interface InstalledPackage {
  name: string;
  version: string;
  origin: string;
  comment: string;
  maintainer: string;
  www: string;
  flatsize: number;
  pkgsize: number;
  automatic: boolean;
  locked: boolean;
  /** Seconds since the epoch. */
  timestamp: number;
  repository: string;
  /** Files the package installed, as the root sees them. */
  files: string[];
}

export interface PkgDb {
  version: 1;
  packages: InstalledPackage[];
}

export function dbPath(root: string): string {
  return under(root, PKGDB_FILE);
}

/** readDb returns the root's database, or undefined when it has none. */
export function readDb(root: string): PkgDb | undefined {
  const p = dbPath(root);
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, "utf8")) as PkgDb;
}

/** changeDb runs `change` on the database (created empty when missing) and writes it back, under the simulator's lock. */
export function changeDb<T>(sim: string, root: string, change: (db: PkgDb) => T): T {
  return withState(sim, () => {
    const db = readDb(root) ?? { version: 1, packages: [] };
    const result = change(db);
    const p = dbPath(root);
    mkdirSync(dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.tmp`;
    db.packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    writeFileSync(tmp, `${JSON.stringify(db, null, 1)}\n`);
    renameSync(tmp, p);
    return result;
  });
}
