/**
 * The exact `zfs` command lines of the ZFS driver (zfs(8); docs/decisions.md, "The portable
 * subset of zfs"), as argument vectors.
 * Pure: builds arrays, runs nothing. Only the portable subset that zfs-fuse 0.7.0 and OpenZFS
 * on FreeBSD both accept is used.
 */
import type { Argv } from "../../exec.js";

/** The user property that marks a dataset as Steward's. Set locally at creation, never inherited. */
export const MANAGED_PROPERTY = "org.steward:managed";
export const MANAGED_VALUE = "yes";

/**
 * Native properties Steward owns on a managed dataset: a local value the manifest does not
 * declare is reverted. Every other native property, and every undeclared user property, is
 * left alone.
 */
export const NATIVE_PROPERTIES: readonly string[] = ["atime", "compression", "mountpoint", "quota", "recordsize"];

/**
 * Native properties that cannot be inherited: `zfs inherit quota` fails with
 * `'quota' property cannot be inherited` (zfs-fuse and OpenZFS), so "not set" is `none`.
 */
export const NON_INHERITABLE: Readonly<Record<string, string>> = { quota: "none" };

/** rootOf names the one dataset Steward observes and manages everything under. */
export function rootOf(pool: string): string {
  return `${pool}/steward`;
}

/**
 * observePropertyList decides which properties the observe call asks for: the marker, guid, the
 * native managed set and every property the manifest names, each once, in a stable order.
 */
export function observePropertyList(declared: Iterable<string>): string[] {
  const extra = new Set<string>();
  for (const p of declared) if (p !== MANAGED_PROPERTY && p !== "guid" && p !== "mounted" && p !== "origin" && !NATIVE_PROPERTIES.includes(p)) extra.add(p);
  return [MANAGED_PROPERTY, "guid", "mounted", "origin", ...NATIVE_PROPERTIES, ...[...extra].sort()];
}

/**
 * observeArgv is the one observe call: every listed property of every dataset under `root`.
 * `-t` is not used (zfs-fuse rejects it), so snapshot rows come back and are dropped in parse.
 */
export function observeArgv(root: string, properties: readonly string[]): Argv {
  return ["zfs", "get", "-rHp", "-o", "name,property,value,source", properties.join(","), root];
}

/**
 * cloneArgv clones a jail's root from `origin` with the marker and every property, creating
 * missing parents (`-p`); clone honours `-o` (tested on zfs-fuse 0.7.0 and in zfs(8)).
 */
export function cloneArgv(origin: string, name: string, properties: Readonly<Record<string, string>>): Argv {
  const opts: string[] = ["-o", `${MANAGED_PROPERTY}=${MANAGED_VALUE}`];
  for (const key of Object.keys(properties).sort()) {
    if (key === MANAGED_PROPERTY) continue;
    opts.push("-o", `${key}=${properties[key]}`);
  }
  return ["zfs", "clone", "-p", ...opts, origin, name];
}

/**
 * createArgv creates one dataset with the marker and every property. `-p` makes a repeated
 * create exit 0; it would then ignore every `-o`, which is why observe runs again next time
 * and the marker is checked before anything is changed.
 */
export function createArgv(name: string, properties: Readonly<Record<string, string>>): Argv {
  const opts: string[] = ["-o", `${MANAGED_PROPERTY}=${MANAGED_VALUE}`];
  for (const key of Object.keys(properties).sort()) {
    if (key === MANAGED_PROPERTY) continue;
    opts.push("-o", `${key}=${properties[key]}`);
  }
  return ["zfs", "create", "-p", ...opts, name];
}

/** setArgv sets one property. One pair per call: zfs-fuse reads a second pair as a dataset name. */
export function setArgv(name: string, property: string, value: string): Argv {
  return ["zfs", "set", `${property}=${value}`, name];
}

/**
 * revertArgv clears a local value: `zfs inherit`, or `zfs set p=none` for the properties
 * zfs refuses to inherit (quota).
 */
export function revertArgv(name: string, property: string): Argv {
  const none = NON_INHERITABLE[property];
  return none === undefined ? ["zfs", "inherit", property, name] : setArgv(name, property, none);
}

/** mountArgv mounts a dataset at its mountpoint (after a create or remount that failed to mount it). */
export function mountArgv(name: string): Argv {
  return ["zfs", "mount", name];
}

/** guidArgv reads the identity of one dataset, to confirm a destroy targets what the plan saw. */
export function guidArgv(name: string): Argv {
  return ["zfs", "get", "-Hp", "-o", "value", "guid", name];
}

/** destroyArgv destroys one dataset. Never `-r`, `-R` or `-f`: children and snapshots make it fail. */
export function destroyArgv(name: string): Argv {
  return ["zfs", "destroy", name];
}
