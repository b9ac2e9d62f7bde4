/**
 * Random valid cluster repos for the network policy's property tests and the real-packet
 * tests: 1–3 nodes on the home LAN 192.168.1.0/24, 1–`maxServices` services with routes to one
 * another (on the same node and across nodes), to the internet (by port, shorthand, one host
 * and one network of it) and exposed ports, all as manifest text that `steward validate`
 * accepts. A fast-check arbitrary: shrinking gives the smallest cluster that fails.
 */
import fc from "fast-check";
import type { RepoSnapshot } from "../../agent/src/manifest/types.js";

export interface RandomCluster {
  readonly nodes: readonly { readonly name: string; readonly address: string; readonly ssh: number }[];
  readonly services: readonly { readonly name: string; readonly node: string; readonly ip: string; readonly expose: readonly string[]; readonly routes: readonly string[] }[];
}

/** The ports routes and exposes are drawn from: few, so that they collide and overlap. */
const PORTS = ["22/tcp", "25/tcp", "53/udp", "80/tcp", "443/tcp", "587/tcp", "5432/tcp", "6000/udp"];
const INTERNET_ROUTES = ["dns", "web", "ntp", "internet:25/tcp", "internet:6000/udp", "203.0.113.7:443/tcp", "198.51.100.0/24:5432/tcp"];

/** randomCluster is an arbitrary RandomCluster; every one validates. */
export function randomCluster(maxServices = 6): fc.Arbitrary<RandomCluster> {
  return fc
    .record({
      nodeCount: fc.integer({ min: 1, max: 3 }),
      sshAlt: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      services: fc.array(
        fc.record({
          node: fc.nat(2),
          expose: fc.subarray(PORTS, { maxLength: 3 }),
          peers: fc.array(fc.record({ to: fc.nat(maxServices - 1), port: fc.constantFrom(...PORTS) }), { maxLength: 3 }),
          internet: fc.subarray(INTERNET_ROUTES, { maxLength: 3 }),
        }),
        { minLength: 1, maxLength: maxServices },
      ),
    })
    .map(({ nodeCount, sshAlt, services }) => {
      const nodes = Array.from({ length: nodeCount }, (_, i) => ({ name: `n${i + 1}`, address: `192.168.1.${10 + i}`, ssh: sshAlt[i] === true ? 2222 : 22 }));
      const names = services.map((_, i) => `s${i + 1}`);
      const exposed = new Set<string>();
      const out = services.map((s, i) => {
        const node = nodes[s.node % nodeCount] as (typeof nodes)[number];
        const expose = s.expose.filter((p) => {
          const key = `${node.name} ${p}`;
          if (p === `${node.ssh}/tcp` || exposed.has(key)) return false;
          exposed.add(key);
          return true;
        });
        const routes = [
          ...new Set([
            ...s.peers.flatMap((p) => {
              const to = p.to % services.length;
              return to === i ? [] : [`${names[to]}:${p.port}`];
            }),
            ...s.internet,
          ]),
        ];
        return { name: names[i] as string, node: node.name, ip: `10.17.0.${10 + i}`, expose, routes };
      });
      return { nodes, services: out };
    });
}

/** snapshotOf writes a RandomCluster as the files of a cluster repo. */
export function snapshotOf(c: RandomCluster): RepoSnapshot {
  const manifests = new Map<string, string>();
  manifests.set("cluster.yaml", "network:\n  jails: 10.17.0.0/24\n  protect: [192.168.1.0/24]\ndefaults:\n  release: 14.2-RELEASE\n");
  for (const n of c.nodes) manifests.set(`nodes/${n.name}.yaml`, `arch: amd64\npool: zroot\ninterface: up0\naddress: ${n.address}\nssh: ${n.ssh}\n`);
  for (const s of c.services) {
    const lines = [`node: ${s.node}`, "jail:", `  ip: ${s.ip}`];
    if (s.expose.length > 0) lines.push(`expose: [${s.expose.join(", ")}]`);
    if (s.routes.length > 0) lines.push(`routes: [${s.routes.join(", ")}]`);
    manifests.set(`services/${s.name}.yaml`, `${lines.join("\n")}\n`);
  }
  return { manifests, paths: new Set(manifests.keys()) };
}
