/**
 * The network policy at scale (docs/network.md): a cluster of 10 nodes, 500 services and 2,000
 * declared routes (each service: a route to a service on its node, one to a service on another
 * node, one to the internet, `dns`) and an exposed port each, loaded once, then measured as
 * medians:
 * - compile + check: compilePolicy, every node's anchor rendered (renderAnchor), the
 *   reachability matrix judged rule by rule, and both checks (checkMatrix, checkNodeAccess) —
 *   what `steward check` does after validation — against the 1 s target;
 * - the size of the rendered rulesets (nat, rdr and filter rules of every node's anchor)
 *   against one pass rule per declared route.
 * Prints `BENCH <name> steward=<value><unit> baseline=<what>:<value><unit> ratio=<baseline/steward>`.
 * Exits 1 when the generated cluster does not validate or its policy does not check.
 */
import { loadModel } from "../agent/src/manifest/load.js";
import type { RepoSnapshot } from "../agent/src/manifest/types.js";
import { compilePolicy } from "../agent/src/network/compile.js";
import { renderAnchor } from "../agent/src/network/pf.js";
import { checkMatrix, checkNodeAccess, reachability } from "../agent/src/network/reach.js";

const NODES = 10;
const SERVICES = 500;
const RUNS = 7;
const TARGET_MS = 1000;

function name(i: number): string {
  return `svc${String(i % SERVICES).padStart(3, "0")}`;
}

/** generate writes the cluster in memory: 4 routes per service, 2,000 in all. */
function generate(): { snapshot: RepoSnapshot; routes: number } {
  const manifests = new Map<string, string>();
  manifests.set("cluster.yaml", "network:\n  jails: 10.17.0.0/16\n  protect: [192.168.1.0/24]\ndefaults:\n  release: 14.2-RELEASE\n");
  for (let n = 0; n < NODES; n++) manifests.set(`nodes/node${n}.yaml`, `arch: amd64\npool: zroot\ninterface: em0\naddress: 192.168.1.${10 + n}\nssh: 2222\n`);
  let routes = 0;
  for (let i = 0; i < SERVICES; i++) {
    // i + NODES is on the same node (services are dealt round-robin), i + 1 on the next one.
    const list = [`${name(i + NODES)}:${10000 + ((i + NODES) % SERVICES)}/tcp`, `${name(i + 1)}:5432/tcp`, `internet:${[25, 443, 993, 5269][i % 4]}/tcp`, "dns"];
    routes += list.length;
    manifests.set(`services/${name(i)}.yaml`, [`node: node${i % NODES}`, "jail:", `  ip: 10.17.${1 + Math.floor(i / 200)}.${1 + (i % 200)}`, `expose: [${10000 + i}/tcp]`, `routes: [${list.join(", ")}]`, ""].join("\n"));
  }
  return { snapshot: { manifests, paths: new Set(manifests.keys()) }, routes };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const { snapshot, routes } = generate();
const { model, diagnostics } = loadModel(snapshot);
if (model === undefined) {
  console.error(`the generated cluster does not validate: ${JSON.stringify(diagnostics.slice(0, 5), null, 2)}`);
  process.exitCode = 1;
} else {
  let rules = 0;
  let problems = 0;
  let reachable = 0;
  const run = (): void => {
    const policy = compilePolicy(model);
    rules = 0;
    for (const n of policy.nodes) {
      renderAnchor(n);
      rules += n.nat.length + n.rdr.length + n.filter.length;
    }
    const matrix = reachability(policy);
    reachable = matrix.reachable.length;
    problems = checkMatrix(policy, matrix).length + checkNodeAccess(policy).length;
  };
  run(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    run();
    times.push(performance.now() - t);
  }
  if (problems > 0) {
    console.error(`the generated cluster's policy does not check: ${problems} problem(s)`);
    process.exitCode = 1;
  } else {
    const ms = median(times);
    console.log(`# ${NODES} nodes, ${SERVICES} services, ${routes} declared routes, ${reachable} reachable flows; median of ${RUNS} runs`);
    console.log(`BENCH pf-compile-check-500 steward=${ms.toFixed(1)}ms baseline=target:${TARGET_MS}ms ratio=${(TARGET_MS / ms).toFixed(2)}`);
    console.log(`BENCH pf-ruleset-size-500 steward=${rules}rules baseline=one-pass-per-route:${routes}rules ratio=${(routes / rules).toFixed(2)}`);
  }
}
