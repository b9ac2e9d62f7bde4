/**
 * Semantic checks: what a JSON Schema cannot express. Pure. Runs on schema-valid files and
 * returns every problem found, each placed on the value that causes it.
 *
 * A node or service whose file failed its schema still counts as existing here, so that one
 * mistake is reported once and not again as a dangling reference everywhere it is named.
 */
import type { Diagnostic, ErrorCode, Where } from "../errors.js";
import { broadcast, contains, overlaps, parseCidr, parseIpv4, hasHostBits, type Cidr } from "./ipv4.js";
import { DEFAULT_SSH_PORT, INTERNET, isAddressTarget, splitRoute, type Entry, type Locate, type RawCluster, type RawNode, type RawService } from "./raw.js";
import { closest } from "./schema.js";
import { containerNames, datasetName } from "./desired.js";
import { parseSize } from "./sizes.js";
import { describeOverlaps, hostPathOverlaps } from "./paths.js";
import { decodeBase64Strict, parseSshPublicKey } from "../source/sshsig.js";

export interface CheckInput {
  readonly cluster: Entry<RawCluster> | undefined;
  readonly nodes: readonly Entry<RawNode>[];
  readonly services: readonly Entry<RawService>[];
  /** Names whose files exist but failed earlier checks. */
  readonly brokenNodes: ReadonlySet<string>;
  readonly brokenServices: ReadonlySet<string>;
  /** Every file path in the revision. */
  readonly paths: ReadonlySet<string>;
  readonly locate: Locate;
}

/** checkSemantics returns every reference, uniqueness, address and path problem. */
export function checkSemantics(input: CheckInput): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error = (code: ErrorCode, where: Where, message: string, hint: string): void => {
    out.push({ code, severity: "error", where, message, hint });
  };
  const { locate } = input;
  const nodeNames = new Set([...input.nodes.map((n) => n.name), ...input.brokenNodes]);
  const serviceNames = new Set([...input.services.map((s) => s.name), ...input.brokenServices]);
  const nodesByName = new Map(input.nodes.map((n) => [n.name, n]));
  const servicesByName = new Map(input.services.map((s) => [s.name, s]));

  // Networks.
  let jailNet: Cidr | undefined;
  const protect: { cidr: Cidr; text: string }[] = [];
  if (input.cluster !== undefined) {
    const { file, raw } = input.cluster;
    jailNet = parseCidr(raw.network.jails);
    if (hasHostBits(raw.network.jails)) {
      error("MANIFEST_INVALID", locate(file, ["network", "jails"]), `network.jails: ${raw.network.jails} has host bits set`, `write the network address, e.g. ${formatCidr(jailNet)}`);
    }
    raw.network.protect.forEach((text, i) => {
      const cidr = parseCidr(text);
      if (cidr === undefined) return;
      protect.push({ cidr, text });
      if (jailNet !== undefined && overlaps(cidr, jailNet)) {
        error("MANIFEST_CONFLICT", locate(file, ["network", "protect", i]), `network.protect: ${text} overlaps the jail network ${raw.network.jails}`, "jails cannot be kept out of their own network: use separate ranges for jails and the home LAN");
      }
    });
  }

  if (input.cluster?.raw.defaults?.datasets !== undefined) {
    checkDatasetProperties(input.cluster.raw.defaults.datasets, ["defaults", "datasets"], input.cluster.file, locate, error);
  }

  // Nodes.
  for (const n of input.nodes) {
    const jails = n.raw.jails;
    if (jails !== undefined && (hasDotSegment(jails) || jails.replace(/\/+$/, "") === "")) {
      error("MANIFEST_PATH", locate(n.file, ["jails"]), `jails: '${jails}' must be a plain directory below /`, "use a dedicated directory such as /jails, with no '.' or '..' segments");
    } else if (jails !== undefined) {
      // Every jail root and dataset mountpoint of the node is below `jails`: keeping it off the
      // system trees keeps them all off (paths.ts).
      const overlaps = hostPathOverlaps(jails);
      if (overlaps.length > 0) {
        error("MANIFEST_PATH", locate(n.file, ["jails"]), `jails: ${jails.replace(/(.)\/+$/, "$1")} ${describeOverlaps(overlaps)}; jail roots and datasets mounted there would hide the node's own files`, "use a dedicated directory such as /jails or /usr/local/jails");
      }
    }
    if (n.raw.key !== undefined) {
      const problem = publicKeyProblem(n.raw.key);
      if (problem !== undefined) error("MANIFEST_INVALID", locate(n.file, ["key"]), `key: ${problem}`, "paste the one line of the node's public key file (steward init prints it; or cat /usr/local/etc/steward/id_ed25519.pub)");
    }
    (n.raw.destroy ?? []).forEach((name, i) => {
      if (!name.startsWith(`${n.raw.pool}/steward/`)) {
        error("MANIFEST_INVALID", locate(n.file, ["destroy", i]), `destroy: ${name} is not under ${n.raw.pool}/steward`, `Steward destroys only its own datasets, under ${n.raw.pool}/steward/`);
      }
    });
  }

  // Services.
  const ipOwner = new Map<number, Entry<RawService>>();
  const exposeOwner = new Map<string, Entry<RawService>>();
  const wanted = new Map<string, { entry: Entry<RawService>; short: string }>();
  for (const s of input.services) {
    const { file, raw, name } = s;
    if (name === INTERNET) {
      error("MANIFEST_NAME", { file, line: 1, column: 1 }, `'${INTERNET}' is reserved for routes to the internet`, "rename the file, e.g. services/gateway.yaml");
    }
    if (!nodeNames.has(raw.node)) {
      const close = closest(raw.node, [...nodeNames]);
      error("MANIFEST_REFERENCE", locate(file, ["node"]), `node '${raw.node}' does not exist`, close !== undefined ? `did you mean '${close}'?` : `add nodes/${raw.node}.yaml or name an existing node${nodeNames.size > 0 ? `: ${[...nodeNames].sort().join(", ")}` : ""}`);
    }

    // A node marked down runs nothing: its services are moved elsewhere (docs/backups.md, "Failover and drain").
    const node = nodesByName.get(raw.node);
    if (node?.raw.down === true) {
      const live = [...nodesByName.values()].filter((n) => n.raw.down !== true).map((n) => n.name).sort();
      error("MANIFEST_CONFLICT", locate(file, ["node"]), `node '${raw.node}' is marked down (${node.file}): service '${name}' cannot run there`, live.length > 0 ? `move it to a live node (node: ${live.join(" or ")}); its datasets are seeded there from the newest replica ${raw.node} sent` : "add a live node and move the service there");
    }

    // A jail is a clone of a base release: one must be named somewhere.
    if (input.cluster !== undefined && node !== undefined && raw.jail.release === undefined && node.raw.release === undefined && input.cluster.raw.defaults?.release === undefined) {
      error("MANIFEST_MISSING", locate(file, ["jail"]), `jail: no FreeBSD release for service '${name}'`, "its jail is cloned from a base release: set defaults.release in cluster.yaml (e.g. 14.2-RELEASE), release: in the node's file, or jail.release here");
    }

    // Address.
    const ip = parseIpv4(raw.jail.ip);
    if (ip !== undefined) {
      const where = locate(file, ["jail", "ip"]);
      const other = ipOwner.get(ip);
      if (other !== undefined) {
        error("MANIFEST_DUPLICATE", where, `jail.ip ${raw.jail.ip} is already used by service '${other.name}'`, "give every jail its own address");
      } else ipOwner.set(ip, s);
      if (jailNet !== undefined && input.cluster !== undefined) {
        if (!contains(jailNet, ip)) {
          error("MANIFEST_INVALID", where, `jail.ip ${raw.jail.ip} is outside network.jails ${input.cluster.raw.network.jails}`, `pick a free address in ${input.cluster.raw.network.jails}`);
        } else if (jailNet.prefix < 31 && (ip === jailNet.network || ip === broadcast(jailNet))) {
          error("MANIFEST_INVALID", where, `jail.ip ${raw.jail.ip} is the ${ip === jailNet.network ? "network" : "broadcast"} address of ${input.cluster.raw.network.jails}`, "pick a host address inside the network");
        }
      }
      const p = protect.find((x) => contains(x.cidr, ip));
      if (p !== undefined) {
        error("MANIFEST_CONFLICT", where, `jail.ip ${raw.jail.ip} is inside the protected network ${p.text}`, "jails may not live on the home LAN; use an address in network.jails");
      }
    }

    // Exposed ports: one owner per port and protocol on a node.
    (raw.expose ?? []).forEach((spec, i) => {
      const port = Number(spec.split("/")[0]);
      const where = locate(file, ["expose", i]);
      if (port > 65535) {
        error("MANIFEST_INVALID", where, `expose: port ${port} is out of range`, "ports go from 1 to 65535");
        return;
      }
      // An exposed port is redirected from the node's address: its own sshd's port would
      // leave the admins locked out (docs/network.md, "The node's own access").
      const host = nodesByName.get(raw.node);
      const ssh = host?.raw.ssh ?? DEFAULT_SSH_PORT;
      if (host !== undefined && spec === `${ssh}/tcp`) {
        error("MANIFEST_CONFLICT", where, `expose: ${spec} would redirect node '${raw.node}''s own sshd (port ${ssh}) to this jail`, `expose another port, or move the node's sshd to another port and say so in nodes/${raw.node}.yaml, e.g. ssh: 2222`);
      }
      const key = `${raw.node} ${spec}`;
      const other = exposeOwner.get(key);
      if (other !== undefined) {
        error("MANIFEST_CONFLICT", where, `expose: ${spec} on node '${raw.node}' is already exposed by service '${other.name}'`, "a port can be redirected to one jail only; move one service or use another port");
      } else exposeOwner.set(key, s);
    });

    // Routes.
    (raw.routes ?? []).forEach((spec, i) => {
      const where = locate(file, ["routes", i]);
      const route = splitRoute(spec);
      if (route === undefined) return; // a shorthand; the schema allows only known ones
      const { target, port } = route;
      if (port > 65535) error("MANIFEST_INVALID", where, `routes: port ${port} is out of range`, "ports go from 1 to 65535");
      if (target === INTERNET) return;
      if (isAddressTarget(target)) {
        checkAddressRoute(spec, target, where, jailNet, input.cluster?.raw.network.jails, protect, error);
        return;
      }
      if (target === name) {
        error("MANIFEST_INVALID", where, `routes: '${spec}' routes the service to itself`, "a jail always reaches itself; remove this route");
      } else if (!serviceNames.has(target)) {
        const close = closest(target, [...serviceNames, INTERNET]);
        error("MANIFEST_REFERENCE", where, `routes: service '${target}' does not exist`, close !== undefined ? `did you mean '${close}'?` : `name a service (a file services/<name>.yaml) or ${INTERNET}`);
      } else {
        // Between nodes, pf sends a route's packets to the other node's address and the
        // answers back to this one's (route-to, reply-to): both must be known.
        const there = servicesByName.get(target)?.raw.node;
        if (there !== undefined && there !== raw.node) {
          for (const n of [there, raw.node]) {
            const node = nodesByName.get(n);
            if (node !== undefined && node.raw.address === undefined) {
              error("MANIFEST_MISSING", where, `routes: '${spec}' goes from node '${raw.node}' to node '${there}', and nodes/${n}.yaml has no address`, `add address: (its address on the home LAN) to nodes/${n}.yaml: pf sends the route's packets ${n === there ? "there" : "back there"}`);
            }
          }
        }
      }
    });

    // Files.
    const jailServices = new Set(raw.jail.services ?? []);
    for (const [dest, f] of Object.entries(raw.files ?? {})) {
      if (hasDotSegment(dest)) {
        error("MANIFEST_PATH", locate(file, ["files"], dest), `files: '${dest}' contains a '.' or '..' segment`, "write the plain absolute path inside the jail");
      }
      if (hasDotSegment(f.from)) {
        error("MANIFEST_PATH", locate(file, ["files", dest, "from"]), `files: from '${f.from}' contains a '.' or '..' segment`, "write the path from the repo root, e.g. files/mail/main.cf");
      } else if (!input.paths.has(f.from)) {
        error("MANIFEST_MISSING", locate(file, ["files", dest, "from"]), `files: '${f.from}' does not exist in the repo`, "add the file (a regular file; symlinks are not followed) or correct the path");
      }
      (f.restart ?? []).forEach((r, i) => {
        if (!jailServices.has(r)) {
          error("MANIFEST_REFERENCE", locate(file, ["files", dest, "restart", i]), `files: restart '${r}' is not one of this jail's services`, jailServices.size > 0 ? `name one of jail.services: ${[...jailServices].join(", ")}` : "list it under jail.services first");
        }
      });
    }

    // Datasets.
    const mounts = new Map<string, string>();
    for (const [short, props] of Object.entries(raw.datasets ?? {})) {
      const mount = props["mount"];
      if (mount !== undefined) {
        const where = locate(file, ["datasets", short, "mount"]);
        const normal = mount.replace(/\/+$/, "") || "/";
        if (hasDotSegment(mount)) error("MANIFEST_PATH", where, `datasets.${short}.mount: '${mount}' contains a '.' or '..' segment`, "write the plain absolute path inside the jail");
        else if (normal === "/") error("MANIFEST_PATH", where, `datasets.${short}.mount: a dataset cannot be mounted over the jail's root`, "mount it on a directory, e.g. /var/db/app");
        else if (mounts.has(normal)) error("MANIFEST_DUPLICATE", where, `datasets.${short}.mount: ${normal} is already the mount of dataset '${mounts.get(normal)}'`, "give each dataset its own mount point");
        else {
          // ZFS mounts in no order the manifest controls: a dataset mounted inside another's
          // mount either fails ("directory is not empty") or, on OpenZFS, hides the other.
          const outer = [...mounts].find(([m]) => normal.startsWith(`${m}/`) || m.startsWith(`${normal}/`));
          if (outer !== undefined) error("MANIFEST_CONFLICT", where, `datasets.${short}.mount: ${normal} and ${outer[0]} (dataset '${outer[1]}') are nested`, "mount the datasets of one service side by side, e.g. /var/db/app and /var/db/app-data");
          mounts.set(normal, short);
        }
      }
      checkDatasetProperties(props, ["datasets", short], file, locate, error);
      const node = nodesByName.get(raw.node);
      if (node !== undefined) wanted.set(datasetName(node.raw.pool, name, short), { entry: s, short });
    }
  }

  out.push(...checkBackups(input));

  // Destroy lists must not name a dataset still wanted, nor a container of one.
  for (const n of input.nodes) {
    (n.raw.destroy ?? []).forEach((target, i) => {
      for (const [want, owner] of wanted) {
        if (owner.entry.raw.node !== n.name) continue;
        if (want === target || want.startsWith(`${target}/`)) {
          error("MANIFEST_CONFLICT", locate(n.file, ["destroy", i]), `destroy: ${target} ${want === target ? "is" : "contains"} dataset '${owner.short}' of service '${owner.entry.name}', which the manifest still wants`, "remove it from destroy, or remove the dataset from the service first");
          break;
        }
      }
      const containers = containerNames(n.raw.pool, input.services.filter((s) => s.raw.node === n.name).map((s) => s.name));
      if (containers.includes(target)) {
        error("MANIFEST_CONFLICT", locate(n.file, ["destroy", i]), `destroy: ${target} is one of Steward's own containers`, `name a dataset below ${n.raw.pool}/steward/data/<service>/, or remove the service first`);
      }
    });
  }
  return out;
}

type Report = (code: ErrorCode, where: Where, message: string, hint: string) => void;

/**
 * checkBackups checks what the schema cannot about backups: every policy a service, dataset
 * or the defaults name exists; a policy's replica nodes and remote exist, and copies to a
 * remote have recipients; a cold pool is no node's own pool (it is exported after each copy);
 * every service with a replica has a peer other than its own node, reachable (`receive:` or
 * `address:`).
 */
function checkBackups(input: CheckInput): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error = (code: ErrorCode, where: Where, message: string, hint: string): void => {
    out.push({ code, severity: "error", where, message, hint });
  };
  const { locate } = input;
  const cluster = input.cluster;
  const backups = cluster?.raw.backups;
  const policies = backups?.policies ?? {};
  const policyNames = Object.keys(policies);
  const nodeNames = new Set([...input.nodes.map((n) => n.name), ...input.brokenNodes]);
  const nodesByName = new Map(input.nodes.map((n) => [n.name, n]));
  const names = (list: string | readonly string[] | { readonly to: string | readonly string[] }): readonly string[] => (typeof list === "string" ? [list] : Array.isArray(list) ? list : names((list as { to: string | readonly string[] }).to));
  const reference = (name: string | undefined, where: () => Where): boolean => {
    if (name === undefined || name === "none") return false;
    if (Object.hasOwn(policies, name)) return true;
    // cluster.yaml failed its own checks (reported there): its policies are unknown, not missing.
    if (cluster === undefined) return false;
    const close = closest(name, policyNames);
    error("MANIFEST_REFERENCE", where(), `backup: policy '${name}' does not exist`, close !== undefined ? `did you mean '${close}'?` : policyNames.length > 0 ? `name one of cluster.yaml backups.policies: ${policyNames.join(", ")}, or none` : "define it in cluster.yaml under backups.policies, or write none");
    return false;
  };

  if (cluster !== undefined) {
    const file = cluster.file;
    reference(cluster.raw.defaults?.backup, () => locate(file, ["defaults", "backup"]));
    const pools = new Map(input.nodes.map((n) => [n.raw.pool, n.name]));
    for (const [name, p] of Object.entries(policies)) {
      const at = (...path: string[]): Where => locate(file, ["backups", "policies", name, ...path]);
      if (!Object.values(p.keep).some((n) => n !== undefined && n > 0)) {
        error("MANIFEST_INVALID", at("keep"), `backups.policies.${name}.keep keeps no snapshot`, "keep at least one kind, e.g. keep: { hourly: 24, daily: 7 }; or name the policy none where it is used");
      }
      if (p.replica !== undefined) {
        for (const peer of names(p.replica)) {
          if (!nodeNames.has(peer)) {
            const close = closest(peer, [...nodeNames]);
            error("MANIFEST_REFERENCE", at("replica"), `backups.policies.${name}.replica: node '${peer}' does not exist`, close !== undefined ? `did you mean '${close}'?` : `name a node (a file nodes/<node>.yaml)`);
          }
        }
      }
      if (p.remote !== undefined) {
        const remote = typeof p.remote === "string" ? p.remote : p.remote.to;
        const remotes = Object.keys(backups?.remotes ?? {});
        if (!remotes.includes(remote)) {
          const close = closest(remote, remotes);
          error("MANIFEST_REFERENCE", at("remote"), `backups.policies.${name}.remote: remote '${remote}' does not exist`, close !== undefined ? `did you mean '${close}'?` : "define it under backups.remotes, e.g. offsite: ssh://steward@backup.example.net");
        } else if ((backups?.recipients ?? []).length === 0) {
          error("MANIFEST_MISSING", at("remote"), `backups.policies.${name}.remote: remote copies are encrypted, but backups.recipients is not set`, "add backups.recipients: [age1...] (age-keygen prints the public key of a new identity)");
        }
      }
      if (p.cold !== undefined) {
        const pool = typeof p.cold === "string" ? p.cold : p.cold.pool;
        const owner = pools.get(pool);
        if (owner !== undefined) {
          error("MANIFEST_CONFLICT", at("cold"), `backups.policies.${name}.cold: ${pool} is the pool of node '${owner}'`, "a cold pool is a removable disk Steward exports after each copy: name that disk's own pool");
        }
      }
    }
  }

  const defaultPolicy = cluster?.raw.defaults?.backup;
  for (const s of input.services) {
    reference(s.raw.backup, () => locate(s.file, ["backup"]));
    // Each policy the service's datasets end up with, placed where it is named for them.
    const used = new Map<string, Where>();
    for (const [short, props] of Object.entries(s.raw.datasets ?? {})) {
      const own = props["backup"];
      if (own !== undefined) reference(own, () => locate(s.file, ["datasets", short, "backup"]));
      const policy = own ?? s.raw.backup ?? defaultPolicy;
      if (policy === undefined || !Object.hasOwn(policies, policy) || used.has(policy)) continue;
      used.set(policy, locate(s.file, own !== undefined ? ["datasets", short, "backup"] : s.raw.backup !== undefined ? ["backup"] : ["datasets", short]));
    }
    for (const [policy, where] of used) {
      const replica = policies[policy]?.replica;
      if (replica === undefined) continue;
      const peers = names(replica).filter((n) => n !== s.raw.node);
      const peer = peers[0];
      if (peer === undefined) {
        error("MANIFEST_CONFLICT", where, `backup: policy '${policy}' replicates only to node '${s.raw.node}', this service's own node`, `list another node first in backups.policies.${policy}.replica, e.g. replica: [${[...nodeNames].filter((n) => n !== s.raw.node).slice(0, 1).join("") || "beta"}, ${s.raw.node}]`);
        continue;
      }
      // A node marked down receives nothing: the next peer of the list does (desired.ts), or none.
      const live = peers.find((n) => nodesByName.get(n)?.raw.down !== true);
      if (live === undefined) continue;
      const node = nodesByName.get(live);
      if (node !== undefined && node.raw.receive === undefined && node.raw.address === undefined) {
        error("MANIFEST_MISSING", where, `backup: the replica of service '${s.name}' goes to node '${live}', which has neither receive: nor address:`, `add address: (or receive: ssh://user@host:port) to nodes/${live}.yaml`);
      }
    }
  }
  return out;
}

/**
 * checkDatasetProperties checks what the schema cannot about ZFS properties, at `path` (a
 * service dataset, or defaults.datasets): sizes Steward can convert to the bytes `zfs get -p`
 * prints, recordsize a power of two, no property of Steward's own.
 */
function checkDatasetProperties(props: Readonly<Record<string, string>>, path: readonly string[], file: string, locate: Locate, error: Report): void {
  const label = path.join(".");
  for (const key of ["quota", "recordsize"]) {
    const text = props[key];
    if (text === undefined) continue;
    const bytes = parseSize(text);
    const where = locate(file, [...path, key]);
    if (bytes === undefined) error("MANIFEST_INVALID", where, `${label}.${key}: ${text} is too large`, "sizes go up to a few PiB (8P and more cannot be represented exactly)");
    else if (key === "recordsize" && (bytes < 512 || bytes > 1024 * 1024 || (bytes & (bytes - 1)) !== 0)) {
      error("MANIFEST_INVALID", where, `${label}.recordsize: ${text} is not a power of two from 512 to 1M`, "use e.g. 16K, 128K or 1M");
    }
  }
  for (const key of Object.keys(props)) {
    if (key.startsWith("org.steward:")) {
      error("MANIFEST_INVALID", locate(file, path, key), `${label}: '${key}' is Steward's own property`, "use your own module prefix, e.g. org.example:backup");
    }
  }
}

/** publicKeyProblem says what is wrong with a public key line whose form the schema checked, or undefined. */
function publicKeyProblem(line: string): string | undefined {
  const [type, base64] = line.split(" ");
  const blob = decodeBase64Strict(new TextEncoder().encode(base64 ?? ""));
  if (blob === undefined) return "the key is not valid base64";
  const parsed = parseSshPublicKey(blob);
  if (parsed.kind === "invalid") return `not an SSH public key: ${parsed.reason}`;
  if (parsed.kind === "key-length") return "the RSA key is shorter than 1024 bits";
  const inside = parsed.kind === "key" ? parsed.key.type : parsed.type;
  if (inside !== type) return `the line says ${type ?? ""} but the key is ${inside}`;
  return undefined;
}

/**
 * checkAddressRoute checks a route to one host or network of the internet: a network address
 * without host bits, outside the jail network (name the service instead) and outside every
 * protected network — a route into the home LAN is refused, whatever it is for.
 */
function checkAddressRoute(spec: string, target: string, where: Where, jailNet: Cidr | undefined, jailText: string | undefined, protect: readonly { cidr: Cidr; text: string }[], error: Report): void {
  const cidr = parseCidr(target.includes("/") ? target : `${target}/32`);
  if (cidr === undefined) return;
  if (target.includes("/") && hasHostBits(target)) {
    error("MANIFEST_INVALID", where, `routes: ${target} has host bits set`, `write the network address, e.g. ${formatCidr(cidr)}, or one host without a prefix length`);
  }
  const lan = protect.find((p) => overlaps(p.cidr, cidr));
  if (lan !== undefined) {
    error("MANIFEST_CONFLICT", where, `routes: '${spec}' goes into the home LAN ${lan.text} (network.protect)`, "no jail may reach the home LAN: remove the route, or give the service a host outside network.protect");
  } else if (jailNet !== undefined && overlaps(jailNet, cidr)) {
    error("MANIFEST_CONFLICT", where, `routes: '${spec}' goes into the jail network ${jailText ?? ""}`, "a jail reaches another one by its service name: write SERVICE:PORT/PROTO");
  }
}

function hasDotSegment(path: string): boolean {
  return path.split("/").some((seg) => seg === "." || seg === "..");
}

function formatCidr(c: Cidr | undefined): string {
  if (c === undefined) return "10.17.0.0/24";
  const n = c.network;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${c.prefix}`;
}
