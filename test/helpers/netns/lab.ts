/**
 * A cluster built out of Linux network namespaces on this machine, to send real packets
 * through a compiled network policy (docs/network.md, "Proven with real packets"):
 *
 *   inet ─ tr0 ── lan (home router: bridge br-lan, the home LAN's stand-in address)
 *                  ├── up0 of node n1 (its address; nftables of its policy, nft.ts) ── br0 ── jail namespaces
 *                  └── up0 of node n2 …
 *
 * `inet` holds the internet's stand-in addresses (the matrix's, reach.ts standsFor), each
 * jail namespace its jail's address, routed by its node (default via 169.254.0.1 on br0).
 * Each node routes the other nodes' jail addresses to their address (what pf's route-to and
 * reply-to do). Every namespace answers on every port the policy names (agent.ts) and records,
 * after filtering, the packets that reach it (an nft dynamic set), so that a packet which
 * arrives but is never answered still shows.
 *
 * Namespaces are named `stpf<random>-…`, created and deleted by the lab; nothing leaves them.
 * Test code: runs `ip`, `nft` and node with node:child_process.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { ClusterPolicy, NodePolicy, Proto } from "../../../agent/src/network/types.js";
import type { Matrix } from "../../../agent/src/network/reach.js";
import { REPO_ROOT } from "../cli.js";
import { BRIDGE, renderNftables, UPLINK } from "./nft.js";
import type { ProbeResult } from "./agent.js";

const AGENT = join(REPO_ROOT, "build/test/helpers/netns/agent.js");
/** How long a probe waits for an answer; a dropped packet costs this much once per round. */
const PROBE_TIMEOUT_MS = 1_500;
const TRANSIT = { lan: "100.127.255.1", inet: "100.127.255.2" };
const JAIL_GATEWAY = "169.254.0.1";
/** Ports the nodes' own traffic uses in the lab: their git remotes (ssh, https, git). */
export const NODE_TRAFFIC: readonly { proto: Proto; port: number }[] = [
  { proto: "tcp", port: 22 },
  { proto: "tcp", port: 443 },
  { proto: "tcp", port: 9418 },
];

/** canRunLab says why this machine cannot build a lab, or undefined when it can. */
export function canRunLab(): string | undefined {
  if (process.getuid?.() !== 0) return "network namespaces need root";
  for (const tool of ["ip", "nft"]) {
    if (spawnSync(tool, ["-V"], { encoding: "utf8" }).error !== undefined) return `${tool} is not installed (Debian: iproute2, nftables; scripts/test-host.sh installs them)`;
  }
  return undefined;
}

function sh(argv: readonly string[], input?: string): string {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8", input, timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.stderr}${r.error === undefined ? "" : String(r.error)}`);
  return r.stdout;
}

/** One flow as the matrix and the lab both write it: `from to address port/proto`. */
export function flowKey(from: string, to: string, address: string | undefined, port: number, proto: Proto): string {
  return `${from} ${to} ${address ?? ""} ${port}/${proto}`;
}

/** What the lab saw. */
export interface Observation {
  /** Flows whose TCP connection or UDP datagram was answered by the right end. */
  readonly answered: ReadonlySet<string>;
  /** Flows whose packets arrived at the other end (answered or not). */
  readonly delivered: ReadonlySet<string>;
  /** What the nodes' own traffic met: each `node -> host port/proto` and `host -> node ssh`, and who answered. */
  readonly nodeAccess: readonly { readonly flow: string; readonly answeredBy: string | null }[];
}

interface Place {
  readonly ns: string;
  /** Who answers there: a service, `node:<name>`, `lan`, `internet`. */
  readonly name: string;
  readonly addresses: readonly string[];
}

export class Lab {
  private readonly namespaces: string[] = [];
  private readonly listeners: ChildProcess[] = [];
  private readonly places: Place[] = [];

  private constructor(
    private readonly prefix: string,
    private readonly policy: ClusterPolicy,
    private readonly matrix: Matrix,
    private readonly ports: readonly { proto: Proto; port: number }[],
  ) {}

  /**
   * build creates the namespaces, links, addresses, routes and rulesets for a compiled policy
   * and the stand-in hosts of its matrix, and starts the listeners. On failure it tears down
   * what it made and throws.
   */
  static async build(policy: ClusterPolicy, matrix: Matrix): Promise<Lab> {
    const lab = new Lab(`stpf${randomBytes(3).toString("hex")}`, policy, matrix, portUniverse(policy, matrix));
    try {
      lab.wire();
      await lab.listen();
      return lab;
    } catch (e) {
      await lab.destroy();
      throw e;
    }
  }

  private ns(name: string): string {
    const full = `${this.prefix}-${name}`;
    sh(["ip", "netns", "add", full]);
    this.namespaces.push(full);
    return full;
  }

  private batch(ns: string, lines: readonly string[]): void {
    sh(["ip", "-n", ns, "-b", "-"], `${lines.join("\n")}\n`);
  }

  private sysctl(ns: string, settings: readonly string[]): void {
    sh(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", ...settings]);
  }

  private nft(ns: string, ruleset: string): void {
    sh(["ip", "netns", "exec", ns, "nft", "-f", "-"], ruleset);
  }

  /** seenTable records the packets that get to a namespace's own sockets, after its filter. */
  private static seenTable(): string {
    return [
      "table ip lab {",
      "  set seen { type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags dynamic; size 65535; }",
      "  chain in {",
      "    type filter hook input priority 100; policy accept;",
      // New flows only: an answer to this namespace's own probe is not an arrival.
      "    ct state new meta l4proto { tcp, udp } add @seen { ip saddr . ip daddr . meta l4proto . th dport }",
      "  }",
      "}",
      "",
    ].join("\n");
  }

  private wire(): void {
    const lanStands = this.matrix.stands.filter((s) => s.kind === "lan");
    const internet = this.matrix.stands.filter((s) => s.kind === "internet").map((s) => s.address);
    const lan = this.ns("lan");
    const inet = this.ns("inet");
    const prefixOf = (network: string | undefined): string => network?.split("/")[1] ?? "24";
    this.batch(lan, [
      "link set lo up",
      `link add br-lan type bridge`,
      "link set br-lan up",
      ...lanStands.map((s) => `addr add ${s.address}/${prefixOf(s.network)} dev br-lan`),
      `link add tr0 type veth peer name tr0 netns ${inet}`,
      `addr add ${TRANSIT.lan}/30 dev tr0`,
      "link set tr0 up",
    ]);
    this.batch(inet, ["link set lo up", ...internet.map((a) => `addr add ${a}/32 dev lo`), `addr add ${TRANSIT.inet}/30 dev tr0`, "link set tr0 up", `route add default via ${TRANSIT.lan}`]);
    this.batch(lan, internet.map((a) => `route add ${a}/32 via ${TRANSIT.inet}`));
    this.sysctl(lan, ["net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"]);
    this.nft(lan, Lab.seenTable());
    this.nft(inet, Lab.seenTable());
    this.places.push({ ns: lan, name: "lan", addresses: lanStands.map((s) => s.address) }, { ns: inet, name: "internet", addresses: internet });

    const gateway = lanStands[0]?.address;
    if (gateway === undefined) throw new Error("the lab needs a home LAN");
    const lanNetwork = lanStands[0]?.network;
    this.policy.nodes.forEach((node, i) => {
      if (node.address === undefined) throw new Error(`the lab needs node ${node.node}'s address`);
      const ns = this.ns(`n${i}`);
      const others = this.policy.nodes.filter((m) => m !== node && m.address !== undefined);
      this.batch(ns, [
        "link set lo up",
        `link add ${UPLINK} type veth peer name n${i} netns ${lan}`,
        `addr add ${node.address}/${prefixOf(lanNetwork)} dev ${UPLINK}`,
        `link set ${UPLINK} up`,
        `route add default via ${gateway}`,
        `link add ${BRIDGE} type bridge`,
        `addr add ${JAIL_GATEWAY}/32 dev ${BRIDGE}`,
        `link set ${BRIDGE} up`,
        ...others.flatMap((m) => m.jails.map((j) => `route add ${j.ip}/32 via ${m.address}`)),
      ]);
      this.batch(lan, [`link set n${i} master br-lan`, `link set n${i} up`]);
      this.sysctl(ns, ["net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"]);
      this.nft(ns, renderNftables(node, node.address));
      this.nft(ns, Lab.seenTable());
      this.places.push({ ns, name: `node:${node.node}`, addresses: [node.address] });
      node.jails.forEach((jail, k) => {
        const js = this.ns(`n${i}j${k}`);
        this.batch(ns, [`link add j${k} type veth peer name eth0 netns ${js}`, `link set j${k} master ${BRIDGE}`, `link set j${k} up`, `route add ${jail.ip}/32 dev ${BRIDGE}`]);
        this.batch(js, ["link set lo up", `addr add ${jail.ip}/32 dev eth0`, "link set eth0 up", `route add ${JAIL_GATEWAY} dev eth0`, `route add default via ${JAIL_GATEWAY} dev eth0`]);
        this.nft(js, Lab.seenTable());
        this.places.push({ ns: js, name: jail.service, addresses: [jail.ip] });
      });
    });
  }

  private async listen(): Promise<void> {
    const extra = (p: Place): { proto: Proto; port: number }[] => {
      if (p.name === "lan" || p.name === "internet") return [...NODE_TRAFFIC];
      const node = this.policy.nodes.find((n) => `node:${n.node}` === p.name);
      return node === undefined ? [] : [{ proto: "tcp", port: node.ssh }];
    };
    await Promise.all(
      this.places.map(async (p) => {
        const ports = dedupePorts([...this.ports, ...extra(p)]);
        const child = spawn("ip", ["netns", "exec", p.ns, process.execPath, AGENT, "listen", p.name, JSON.stringify({ addresses: p.addresses, ports })], { stdio: ["ignore", "pipe", "pipe"] });
        this.listeners.push(child);
        await new Promise<void>((resolve, reject) => {
          let err = "";
          const timer = setTimeout(() => reject(new Error(`the listener in ${p.ns} did not start: ${err}`)), 20_000);
          child.stderr?.on("data", (b: Buffer) => (err += b.toString()));
          child.stdout?.on("data", (b: Buffer) => {
            if (b.toString().includes("ready")) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`the listener in ${p.ns} exited ${code}: ${err}`));
          });
        });
      }),
    );
  }

  private probe(ns: string, targets: readonly { address: string; proto: Proto; port: number }[], from?: string): Promise<ProbeResult[]> {
    return new Promise((resolve, reject) => {
      const child = spawn("ip", ["netns", "exec", ns, process.execPath, AGENT, "probe", JSON.stringify({ targets, timeoutMs: PROBE_TIMEOUT_MS, ...(from === undefined ? {} : { from }) })], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString()));
      child.stderr.on("data", (b: Buffer) => (err += b.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.once("exit", (code) => {
        clearTimeout(timer);
        if (code !== 0) reject(new Error(`the prober in ${ns} exited ${code}: ${err}`));
        else resolve(JSON.parse(out) as ProbeResult[]);
      });
    });
  }

  /** arrivals reads, and empties, every namespace's record of packets that reached it. */
  private arrivals(): { place: Place; src: string; dst: string; proto: Proto; port: number }[] {
    const out: { place: Place; src: string; dst: string; proto: Proto; port: number }[] = [];
    for (const place of this.places) {
      const json = JSON.parse(sh(["ip", "netns", "exec", place.ns, "nft", "-j", "list", "set", "ip", "lab", "seen"])) as { nftables: { set?: { elem?: { concat: [string, string, string, number] }[] } }[] };
      for (const item of json.nftables) for (const e of item.set?.elem ?? []) out.push({ place, src: e.concat[0], dst: e.concat[1], proto: e.concat[2] as Proto, port: e.concat[3] });
      sh(["ip", "netns", "exec", place.ns, "nft", "flush", "set", "ip", "lab", "seen"]);
    }
    return out;
  }

  /**
   * observe sends the traffic the matrix is about and reports what got through: from every jail
   * to every other jail and every stand-in host (one jail per node at a time, so that translated
   * packets tell their jail), then from the home LAN and the internet to every node and jail,
   * and the nodes' own traffic — each on every port the policy names and the probe ports.
   */
  async observe(): Promise<Observation> {
    const answered = new Set<string>();
    const delivered = new Set<string>();
    const nodeAccess: { flow: string; answeredBy: string | null }[] = [];
    const jails = this.places.filter((p) => this.policy.services.some((s) => s.name === p.name));
    const stands = this.matrix.stands;
    const serviceIp = new Map(this.policy.services.map((s) => [s.ip, s.name]));
    this.arrivals();

    const rounds = Math.max(0, ...this.policy.nodes.map((n) => n.jails.length));
    for (let r = 0; r < rounds; r++) {
      const sources = this.policy.nodes.flatMap((n) => (n.jails[r] === undefined ? [] : [{ node: n, jail: n.jails[r] as NodePolicy["jails"][number] }]));
      const results = await Promise.all(
        sources.map(async ({ jail }) => {
          const place = jails.find((p) => p.name === jail.service) as Place;
          const targets = [...this.policy.services.filter((s) => s.name !== jail.service).map((s) => s.ip), ...stands.map((s) => s.address)].flatMap((address) => this.ports.map((p) => ({ address, ...p })));
          return { jail, results: await this.probe(place.ns, targets) };
        }),
      );
      for (const { jail, results: rs } of results) {
        for (const x of rs) {
          // Who answered says where the packet went: the jail addressed, a stand-in host, or
          // (through another node's address and its rdr) a jail there.
          if (x.answeredBy === null) continue;
          answered.add(flowKey(jail.service, x.answeredBy, serviceIp.has(x.address) ? undefined : x.address, x.port, x.proto));
        }
      }
      for (const a of this.arrivals()) {
        const source = sources.find(({ node, jail }) => a.src === jail.ip || a.src === node.address);
        if (source === undefined) continue;
        if (a.place.name === source.jail.service) continue;
        delivered.add(flowKey(source.jail.service, a.place.name, serviceIp.has(a.dst) ? undefined : a.dst, a.port, a.proto));
      }
    }

    // From outside: the home LAN's and the internet's stand-ins, to every node and every jail.
    const outside = stands.filter((s) => s.kind === "lan" || s.kind === "internet");
    const nodeAddresses = this.policy.nodes.map((n) => n.address as string);
    const outsideRuns = await Promise.all(
      outside.map(async (s) => {
        const place = this.places.find((p) => p.name === s.kind) as Place;
        const targets = [
          ...nodeAddresses.flatMap((address) => dedupePorts([...this.ports, ...this.policy.nodes.map((n) => ({ proto: "tcp" as const, port: n.ssh }))]).map((p) => ({ address, ...p }))),
          ...this.policy.services.flatMap((svc) => this.ports.map((p) => ({ address: svc.ip, ...p }))),
        ];
        return { stand: s, results: await this.probe(place.ns, targets, s.address) };
      }),
    );
    for (const { stand, results } of outsideRuns) {
      for (const x of results) {
        const node = this.policy.nodes.find((n) => n.address === x.address);
        if (node !== undefined && x.proto === "tcp" && x.port === node.ssh) nodeAccess.push({ flow: `${stand.address} -> node:${node.node} ${x.port}/tcp`, answeredBy: x.answeredBy });
        if (x.answeredBy === null || x.answeredBy.startsWith("node:")) continue;
        answered.add(flowKey("outside", x.answeredBy, stand.address, x.port, x.proto));
      }
    }
    for (const a of this.arrivals()) {
      const stand = outside.find((s) => s.address === a.src);
      if (stand === undefined || a.place.name.startsWith("node:") || a.place.name === "lan" || a.place.name === "internet") continue;
      delivered.add(flowKey("outside", a.place.name, stand.address, a.port, a.proto));
    }

    // The nodes' own traffic: each node to the home LAN's and the internet's stand-ins.
    const own = await Promise.all(
      this.policy.nodes.map(async (n) => {
        const place = this.places.find((p) => p.name === `node:${n.node}`) as Place;
        const targets = outside.flatMap((s) => NODE_TRAFFIC.map((p) => ({ address: s.address, ...p })));
        return { node: n, results: await this.probe(place.ns, targets, n.address) };
      }),
    );
    for (const { node, results } of own) for (const x of results) nodeAccess.push({ flow: `node:${node.node} -> ${x.address} ${x.port}/${x.proto}`, answeredBy: x.answeredBy });
    this.arrivals();
    return { answered, delivered, nodeAccess };
  }

  /** destroy stops the listeners and deletes every namespace the lab made. Never throws. */
  async destroy(): Promise<void> {
    for (const l of this.listeners) {
      if (l.exitCode === null && l.signalCode === null) {
        const gone = new Promise<void>((resolve) => l.once("exit", () => resolve()));
        l.kill("SIGKILL");
        await Promise.race([gone, new Promise((r) => setTimeout(r, 2_000))]);
      }
    }
    for (const ns of [...this.namespaces].reverse()) spawnSync("ip", ["netns", "del", ns], { timeout: 10_000 });
    this.namespaces.length = 0;
  }
}

function dedupePorts(ports: readonly { proto: Proto; port: number }[]): { proto: Proto; port: number }[] {
  const seen = new Set<string>();
  return ports.filter((p) => {
    const k = `${p.port}/${p.proto}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** portUniverse is every port the policy's rules name, and the matrix's probe ports. */
function portUniverse(policy: ClusterPolicy, matrix: Matrix): { proto: Proto; port: number }[] {
  const all: { proto: Proto; port: number }[] = [
    { proto: "tcp", port: matrix.probe.tcp },
    { proto: "udp", port: matrix.probe.udp },
  ];
  for (const n of policy.nodes) {
    for (const r of n.filter) if (r.port !== undefined && r.proto !== undefined) all.push({ proto: r.proto, port: r.port });
    for (const r of [...n.nat, ...n.rdr]) all.push({ proto: r.proto, port: r.port });
  }
  return dedupePorts(all).sort((a, b) => a.port - b.port || (a.proto < b.proto ? -1 : 1));
}
