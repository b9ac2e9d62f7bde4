/**
 * The ZFS driver on the seam (drivers/driver.ts): datasets under `<pool>/steward`, observed
 * with one `zfs get -rHp`, planned by plan.ts, destroys confirmed by guid, and the record of
 * what each dataset was converged to (record.ts, state.ts).
 */
import type { DesiredState } from "../../manifest/types.js";
import { assertNever } from "../../plan/assert-never.js";
import type { CheckResult, Driver, DriverContext } from "../driver.js";
import { guidArgv, NON_INHERITABLE, observePropertyList } from "./commands.js";
import { observeZfs } from "./observe.js";
import { parseGuidResult } from "./parse.js";
import { planDatasets } from "./plan.js";
import { formatValue } from "./properties.js";
import { nextAppliedRecord, renderAppliedRecord } from "./record.js";
import { writeAppliedRecord } from "./state.js";
import type { ZfsAction, ZfsDesired, ZfsFinding, ZfsObserved } from "./types.js";

export const zfsDriver: Driver<ZfsDesired, ZfsObserved, ZfsAction, ZfsFinding> = {
  name: "zfs",

  slice(desired: DesiredState): ZfsDesired {
    return { pool: desired.node.pool, datasets: desired.datasets, destroy: desired.destroy };
  },

  observe(slice: ZfsDesired, ctx: DriverContext): Promise<ZfsObserved> {
    return observeZfs({ pool: slice.pool, datasets: slice.datasets }, ctx);
  },

  plan(slice: ZfsDesired, observed: ZfsObserved) {
    return planDatasets(slice, observed);
  },

  renderAction(a: ZfsAction): string {
    switch (a.kind) {
      case "zfs.create": {
        const props = Object.entries(a.after).map(([k, v]) => `${k}=${formatValue(k, v)}`);
        return `+ create  ${a.dataset}${props.length > 0 ? ` (${props.join(" ")})` : ""}`;
      }
      case "zfs.clone": {
        const props = Object.entries(a.after).map(([k, v]) => `${k}=${formatValue(k, v)}`);
        return `+ clone   ${a.dataset} from ${a.origin}${props.length > 0 ? ` (${props.join(" ")})` : ""}`;
      }
      case "zfs.seed": {
        const props = Object.entries(a.after).map(([k, v]) => `${k}=${formatValue(k, v)}`);
        return `+ seed    ${a.dataset} from ${a.source}@${a.snapshot}${props.length > 0 ? ` (${props.join(" ")})` : ""}  (${a.reason})`;
      }
      case "zfs.set":
        return `~ set     ${a.dataset} ${a.property}: ${formatValue(a.property, a.before)} -> ${formatValue(a.property, a.after)}  (${a.reason})`;
      case "zfs.inherit": {
        const to = NON_INHERITABLE[a.property] ?? "(inherited)";
        return `~ inherit ${a.dataset} ${a.property}: ${formatValue(a.property, a.before)} -> ${to}  (${a.reason})`;
      }
      case "zfs.mount":
        return `~ mount   ${a.dataset}  (${a.reason})`;
      case "zfs.destroy":
        return `- destroy ${a.dataset} (guid ${a.guid})  (${a.reason})`;
      default:
        return assertNever(a, "zfs action");
    }
  },

  /** A destroy goes ahead only on the dataset the plan saw: same guid. Gone already: done. */
  async check(action: ZfsAction, executor): Promise<CheckResult> {
    if (action.kind !== "zfs.destroy") return { kind: "ok" };
    const result = await executor.run(guidArgv(action.dataset));
    const seen = parseGuidResult(action.dataset, result);
    switch (seen.kind) {
      case "absent":
        return { kind: "done", why: "already gone" };
      case "failed":
        return { kind: "refused", message: "cannot read the dataset's guid", result };
      case "guid":
        return seen.guid === action.precondition.guid
          ? { kind: "ok" }
          : { kind: "refused", message: `guid is ${seen.guid}, the plan saw ${action.precondition.guid}: not the same dataset; not destroyed`, result };
      default:
        return assertNever(seen, "guid result");
    }
  },

  /** Every dataset under the root is read; of each, the properties the manifest names. */
  scope(slice: ZfsDesired): string[] {
    return observePropertyList(slice.datasets.flatMap((d) => Object.keys(d.properties))).map((p) => `property ${p}`);
  },

  async record(slice, observed, part, outcomes, ctx) {
    const record = nextAppliedRecord(observed.applied, slice.datasets, part, outcomes);
    if (renderAppliedRecord(record) !== renderAppliedRecord(observed.applied) || part.actions.length > 0) await writeAppliedRecord(ctx.stateDir, record);
  },
};
