/**
 * Who can reach whom, before and after a change: the reachability part of `steward plan --rev`
 * on an admin's clone. Pure.
 *
 * The matrix itself is the network policy's: the reachability matrix `steward check` prints
 * (network/reach.ts), judged from the pf rules compiled for every node; this module only
 * compares two of them. A provider stands in for it in tests.
 */
import type { ClusterModel } from "../manifest/types.js";
import { compilePolicy } from "../network/compile.js";
import { checkMatrix, checkNodeAccess, reachability } from "../network/reach.js";

/** One reachable flow: a service (or `outside`) reaches a service, `lan`, `internet` or `node:<name>`. */
export interface Flow {
  readonly from: string;
  readonly to: string;
  readonly proto: "tcp" | "udp";
  readonly port: number;
  /** The address judged, for hosts that stand for a network (the home LAN, the internet). */
  readonly address?: string;
}

/** A flow the policy lets through that nothing declares, said for people. */
export interface UndeclaredFlow extends Flow {
  readonly message: string;
}

/** What the network policy gives the review. */
export interface ReachabilityProvider {
  /** Every flow the cluster's policy lets through. */
  matrix(model: ClusterModel): readonly Flow[];
  /** The flows it lets through that no route or exposed port declares (a jail reaching the home LAN included). */
  undeclared(model: ClusterModel): readonly UndeclaredFlow[];
}

/**
 * The network policy's provider: every flow `steward check` finds reachable, and the flows it
 * finds breaking the promise by being reachable (undeclared, into the home LAN, or a rule on a
 * node's own traffic).
 */
export const REACHABILITY: ReachabilityProvider = {
  matrix(model) {
    return reachability(compilePolicy(model)).reachable.map((r) => ({ from: r.from, to: r.to, proto: r.proto, port: r.port, ...(r.address !== undefined ? { address: r.address } : {}) }));
  },
  undeclared(model) {
    const policy = compilePolicy(model);
    return [...checkMatrix(policy, reachability(policy)), ...checkNodeAccess(policy)]
      .filter((p) => p.kind === "undeclared" || p.kind === "lan" || p.kind === "node-access")
      .map((p) => ({ from: p.from, to: p.to, proto: p.proto, port: p.port, message: p.message }));
  },
};

export type ReachabilityReview =
  | { readonly available: false; readonly reason: string }
  | {
      readonly available: true;
      /** Reachable after the change, not before. */
      readonly opened: readonly Flow[];
      /** Reachable before the change, not after. */
      readonly closed: readonly Flow[];
      /** Undeclared after the change and not before: the change opens a path nothing declares. */
      readonly undeclared: readonly UndeclaredFlow[];
    };

/** flowKey identifies a flow: its ends, address, port and protocol. */
export function flowKey(f: Flow): string {
  return `${f.from} ${f.to} ${f.address ?? ""} ${f.port}/${f.proto}`;
}

/** diffFlows lists the flows only `after` has (opened) and only `before` has (closed), each sorted by key. Pure. */
export function diffFlows(before: readonly Flow[], after: readonly Flow[]): { opened: Flow[]; closed: Flow[] } {
  const b = new Set(before.map(flowKey));
  const a = new Set(after.map(flowKey));
  const sort = (fs: Flow[]): Flow[] => fs.sort((x, y) => (flowKey(x) < flowKey(y) ? -1 : flowKey(x) > flowKey(y) ? 1 : 0));
  return { opened: sort(unique(after.filter((f) => !b.has(flowKey(f))))), closed: sort(unique(before.filter((f) => !a.has(flowKey(f))))) };
}

/**
 * reviewReachability compares the reachability of two revisions' models with `provider` (the
 * build's, by default): the flows opened and closed, and the undeclared flows the change adds.
 * Pure.
 */
export function reviewReachability(before: ClusterModel, after: ClusterModel, provider: ReachabilityProvider = REACHABILITY): ReachabilityReview {
  const { opened, closed } = diffFlows(provider.matrix(before), provider.matrix(after));
  const known = new Set(provider.undeclared(before).map(flowKey));
  const undeclared = unique(provider.undeclared(after).filter((f) => !known.has(flowKey(f))));
  return { available: true, opened, closed, undeclared };
}

function unique<T extends Flow>(fs: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const f of fs) if (!seen.has(flowKey(f))) seen.set(flowKey(f), f);
  return [...seen.values()];
}
