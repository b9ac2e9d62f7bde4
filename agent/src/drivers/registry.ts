/**
 * Every driver, in the order resources are built (docs/architecture.md, "Drivers"): datasets
 * before the jails that mount them, jails before the pf rules that name their addresses,
 * backups of the datasets last (their teardown, clearing snapshots, comes before the datasets'
 * destroys). The planner breaks ties in this order and tears down in the reverse one. Adding
 * a kind of resource is adding it here; no generic file changes.
 */
import { backupDriver } from "./backup/driver.js";
import type { Driver } from "./driver.js";
import { jailDriver } from "./jail/driver.js";
import { pfDriver } from "./pf/driver.js";
import { zfsDriver } from "./zfs/driver.js";

export const DRIVERS: readonly Driver[] = [zfsDriver as Driver, jailDriver as Driver, pfDriver as Driver, backupDriver as Driver];

/** driverOf finds a driver by name; undefined for a name no driver has (a plan from another version). */
export function driverOf(name: string, drivers: readonly Driver[] = DRIVERS): Driver | undefined {
  return drivers.find((d) => d.name === name);
}
