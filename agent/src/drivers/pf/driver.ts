/**
 * The pf driver on the seam (drivers/driver.ts): the node's network policy (network/) as the
 * pf anchor `steward`, loaded atomically, read back, and confirmed (docs/network.md). It owns
 * the anchor only: the node's /etc/pf.conf, which calls it, stays the operator's.
 */
import { createHash } from "node:crypto";
import { compilePolicy } from "../../network/compile.js";
import { renderAnchor } from "../../network/pf.js";
import { ANCHOR } from "../../network/types.js";
import type { DesiredState } from "../../manifest/types.js";
import { showArgv } from "./commands.js";
import { observePf } from "./observe.js";
import { readbackHash } from "./parse.js";
import { anchorFiles, planPf } from "./plan.js";
import { writePfRecord } from "./state.js";
import type { Driver } from "../driver.js";
import type { PfAction, PfDesired, PfFinding, PfObserved } from "./types.js";
import { verifyLoad } from "./verify.js";

/** slicePf renders the node's anchor. Pure. */
export function slicePf(desired: DesiredState): PfDesired {
  // A desired state built by hand (tests) may lack the compiled policy: compile it from the
  // node's own services (routes between nodes then have no far end).
  const policy = desired.network ?? compilePolicy({ cluster: desired.cluster, nodes: [desired.node], services: desired.services }).nodes[0];
  const text = policy === undefined ? "" : renderAnchor(policy);
  const bytes = Buffer.from(text, "utf8");
  return {
    anchor: ANCHOR,
    text,
    content: { sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length },
    counts: { jails: policy?.jails.length ?? 0, nat: policy?.nat.length ?? 0, rdr: policy?.rdr.length ?? 0, filter: policy?.filter.length ?? 0 },
    drift: desired.cluster.drift,
    ...(desired.host?.pfConfirm === undefined || desired.host.pfConfirm.targets.length === 0 || desired.host.pfConfirm.windowMs <= 0 ? {} : { confirm: desired.host.pfConfirm }),
  };
}

export const pfDriver: Driver<PfDesired, PfObserved, PfAction, PfFinding> = {
  name: "pf",
  slice: slicePf,
  observe: observePf,
  plan: planPf,

  contents(slice) {
    return new Map([[slice.content.sha256, Buffer.from(slice.text, "utf8")]]);
  },

  renderAction(a: PfAction): string {
    const c = a.counts;
    return `${a.effect === "create" ? "+" : "~"} pf      anchor ${a.anchor}: ${c.jails} jails, ${c.filter} filter, ${c.nat} nat, ${c.rdr} rdr rules  (${a.reason})`;
  },

  verify(a: PfAction, executor) {
    return verifyLoad(a.postcondition, executor);
  },

  /**
   * record makes an applied load the one a revert returns to and notes what the anchor read
   * back as; a load that failed (or was reverted) leaves the record as it was.
   */
  async record(slice, observed, part, outcomes, ctx) {
    const action = part.actions.find((a) => a.kind === "pf.load");
    if (action === undefined || outcomes.get(action.id) !== "applied") return;
    const [nat, rules, tables] = await Promise.all([ctx.executor.run(showArgv(slice.anchor, "nat")), ctx.executor.run(showArgv(slice.anchor, "rules")), ctx.executor.run(showArgv(slice.anchor, "Tables"))]);
    const files = anchorFiles(observed.dir, slice.anchor);
    const readable = [nat, rules, tables].every((r) => r.exitCode === 0);
    // A read-back that fails leaves no read-back hash: the next plan loads again, which is safe.
    await writePfRecord(ctx.stateDir, { version: 1, anchorSha256: slice.content.sha256, ...(readable ? { readbackSha256: readbackHash(nat.stdout, rules.stdout, tables.stdout) } : {}) }, { from: files.next, to: files.current });
  },
};
