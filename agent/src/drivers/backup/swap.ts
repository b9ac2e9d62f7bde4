/**
 * Swapping restored datasets in (docs/backups.md, "Swap"): `steward restore --swap` puts the
 * datasets a restore brought back in place of the live ones, with the service's jail stopped,
 * and keeps the live ones beside the restores, unmounted, never destroyed. Pure: what the node
 * holds in, the steps (each with its undo) out; cli/restore.ts reads, runs and undoes them.
 *
 * The restored dataset takes the live one's local properties (the manifest's, as the ZFS
 * driver set them, and its marker), so the next reconcile has nothing to change; its
 * mountpoint is set last, so nothing is mounted where the live one was until it is in place.
 */
import type { Argv } from "../../exec.js";
import { MANAGED_PROPERTY, mountArgv, setArgv } from "../zfs/commands.js";
import { removeArgv, startArgv } from "../jail/commands.js";

/** One dataset to swap: the live one, the restore taking its place, and where the live one goes. */
export interface SwapDataset {
  readonly live: string;
  readonly restored: string;
  readonly replaced: string;
  /** The live dataset's local properties (`zfs get -s local`), by name. */
  readonly properties: Readonly<Record<string, string>>;
  /** Filesystems below the live one: a swap moves only leaves. */
  readonly children: readonly string[];
  /** Whether the live one is mounted now: the restore is mounted in its place when it was. */
  readonly mounted: boolean;
}

/** The service's jail, when it is running: stopped before the swap and started after it. */
export interface SwapJail {
  readonly name: string;
  readonly confPath: string;
}

/** One command of a swap, and the stderr that means its work was done already (zfs-mount(8)). */
export interface SwapCommand {
  readonly argv: Argv;
  readonly already?: string;
}

/**
 * What `zfs rename`, `umount` and `set mountpoint` print for a file system in use: a process
 * that has not let go yet (the jail's, just stopped), or on zfs-fuse one used a moment ago. A
 * swap tries such a command again a few times before it gives up (BUSY_TRIES, BUSY_WAIT_MS).
 */
export const BUSY = /dataset is busy|[Dd]evice busy/;
export const BUSY_TRIES = 10;
export const BUSY_WAIT_MS = 1000;

/** One step of a swap, and the commands that take it back, in order (none: nothing to take back). */
export interface SwapStep extends SwapCommand {
  readonly undo: readonly SwapCommand[];
}

/** replacedName is where a swapped-out live dataset goes: beside the restore, `<name>-replaced-<stamp>`. */
export function replacedName(restored: string): string {
  const cut = restored.lastIndexOf("-");
  return `${restored.slice(0, cut)}-replaced${restored.slice(cut)}`;
}

/**
 * planSwap decides the steps of a swap: stop the jail; per dataset unmount the live one and move
 * it aside (mountpoint none), move the restore in, give it the live one's properties, mountpoint
 * last, and mount it; then start the jail again. Datasets are unmounted before a rename: a
 * mounted one may be busy (zfs-fuse always says so), and an unmounted one is not remounted by
 * it. A string says why it cannot be done (a live dataset with children, which a swap would
 * move along). Pure.
 */
export function planSwap(datasets: readonly SwapDataset[], jail: SwapJail | undefined): SwapStep[] | string {
  const parent = datasets.find((d) => d.children.length > 0);
  if (parent !== undefined) return `${parent.live} has datasets below it (${parent.children.join(", ")}), which a swap would move along: swap by hand (docs/backups.md, "Swap")`;
  const steps: SwapStep[] = [];
  if (jail !== undefined) steps.push({ argv: removeArgv(jail.confPath, jail.name), undo: [{ argv: startArgv(jail.confPath, jail.name) }] });
  for (const d of datasets) {
    const mountpoint = d.properties["mountpoint"];
    if (d.mounted) steps.push({ ...unmount(d.live), undo: [mount(d.live)] });
    steps.push({ argv: zfsRename(d.live, d.replaced), undo: [{ argv: zfsRename(d.replaced, d.live) }] });
    // A local mountpoint travels with a rename: the old data would be mounted where the restore goes.
    // Setting it back mounts it (it was none), so the undo unmounts it again before its rename back.
    if (mountpoint !== undefined) steps.push({ argv: setArgv(d.replaced, "mountpoint", "none"), undo: [{ argv: setArgv(d.replaced, "mountpoint", mountpoint) }, unmount(d.replaced)] });
    steps.push({ argv: zfsRename(d.restored, d.live), undo: [unmount(d.live), { argv: zfsRename(d.live, d.restored) }] });
    const names = Object.keys(d.properties).filter((p) => p !== "mountpoint").sort((a, b) => (a === MANAGED_PROPERTY ? -1 : b === MANAGED_PROPERTY ? 1 : a < b ? -1 : a > b ? 1 : 0));
    for (const p of names) steps.push({ argv: setArgv(d.live, p, d.properties[p] as string), undo: [] });
    if (mountpoint !== undefined) steps.push({ argv: setArgv(d.live, "mountpoint", mountpoint), undo: [{ argv: setArgv(d.live, "mountpoint", "none") }] });
    if (d.mounted) steps.push({ ...mount(d.live), undo: [] });
  }
  if (jail !== undefined) steps.push({ argv: startArgv(jail.confPath, jail.name), undo: [] });
  return steps;
}

/** undoSteps are the undos of the steps that ran, last first: what puts the node back as it was. Pure. */
export function undoSteps(steps: readonly SwapStep[], ran: number): SwapCommand[] {
  return steps
    .slice(0, ran)
    .reverse()
    .flatMap((s) => s.undo);
}

/** localPropertiesArgv reads a dataset's local properties, parsable: what a swap gives the restore. */
export function localPropertiesArgv(dataset: string): Argv {
  return ["zfs", "get", "-Hp", "-s", "local", "-o", "property,value", "all", dataset];
}

/** parseLocalProperties reads `zfs get -Hp -s local -o property,value all`: one `name\tvalue` per line. Pure. */
export function parseLocalProperties(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab > 0) out[line.slice(0, tab)] = line.slice(tab + 1);
  }
  return out;
}

function unmount(dataset: string): SwapCommand {
  return { argv: ["zfs", "umount", dataset], already: "not currently mounted" };
}

function mount(dataset: string): SwapCommand {
  return { argv: mountArgv(dataset), already: "filesystem already mounted" };
}

function zfsRename(from: string, to: string): Argv {
  return ["zfs", "rename", from, to];
}
