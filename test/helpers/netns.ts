/**
 * A private network on this machine for a test: one network namespace per host
 * (ip-netns(8)), each linked by a veth pair to one bridge that lives in a namespace of its own,
 * with addresses in a /24 of 10.0.0.0/8 picked at random. No namespace has a default route and
 * the bridge has no address, so nothing can route off the machine, nor reach the test's own
 * network. Processes run in a host's namespace through nsenter(1) `--net`, which keeps the
 * mount namespace: `ip netns exec` would make a private one, in which the zfs-fuse mounts made
 * after it starts never appear.
 *
 * Creating namespaces needs root and iproute2 (scripts/test-host.sh); when it cannot be done
 * createLan throws, and the test fails: it never skips. destroy() deletes every namespace it
 * made (their links go with them); call it in `after`, after stopping what runs inside.
 * Test code: runs ip and nsenter directly.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { REPO_ROOT } from "./cli.js";

export interface Lan {
  /** The namespaces' common prefix, unique to this network. */
  readonly id: string;
  /** The network, e.g. 10.143.7.0/24. */
  readonly subnet: string;
  /** The hosts, in the order given. */
  readonly hosts: readonly string[];
  /** The IPv4 address of a host. */
  address(host: string): string;
  /** The argv prefix that runs a command in a host's network namespace. */
  exec(host: string): [string, ...string[]];
  /** cut takes the host's link to the bridge down, as a pulled cable does; restore plugs it back. */
  cut(host: string): void;
  restore(host: string): void;
  /** destroy deletes every namespace of this network; safe to call twice. */
  destroy(): void;
}

const SETUP_HINT = "network namespaces need root and iproute2 (scripts/test-host.sh setup)";

function ip(args: readonly string[]): void {
  try {
    execFileSync("ip", [...args], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? String(e);
    throw new Error(`ip ${args.join(" ")}: ${stderr.trim()} (${SETUP_HINT})`);
  }
}

/**
 * createLan makes the namespaces `<id>-<host>` for `hosts` (host names: lowercase letters and
 * digits, at most 10 characters) and `<id>-lan` for the bridge. Host i gets address .(10 + i).
 */
export function createLan(hosts: readonly string[]): Lan {
  for (const h of hosts) if (!/^[a-z][a-z0-9]{0,9}$/.test(h) || h === "lan") throw new Error(`createLan: bad host name ${h}`);
  const id = `st${randomBytes(3).toString("hex")}`;
  const net = `10.${100 + (randomBytes(1)[0] as number) % 100}.${randomBytes(1)[0] as number}`;
  const ns = (h: string): string => `${id}-${h}`;
  const lan = ns("lan");
  const made: string[] = [];
  const destroy = (): void => {
    for (const n of made.splice(0).reverse()) {
      try {
        execFileSync("ip", ["netns", "del", n], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
  };
  const veth = (h: string): string => `v${hosts.indexOf(h)}`;
  try {
    for (const n of [lan, ...hosts.map(ns)]) {
      ip(["netns", "add", n]);
      made.push(n);
    }
    ip(["-n", lan, "link", "add", "br0", "type", "bridge"]);
    ip(["-n", lan, "link", "set", "br0", "up"]);
    hosts.forEach((h, i) => {
      ip(["-n", lan, "link", "add", veth(h), "type", "veth", "peer", "name", "eth0", "netns", ns(h)]);
      ip(["-n", lan, "link", "set", veth(h), "master", "br0", "up"]);
      ip(["-n", ns(h), "addr", "add", `${net}.${10 + i}/24`, "dev", "eth0"]);
      ip(["-n", ns(h), "link", "set", "eth0", "up"]);
      ip(["-n", ns(h), "link", "set", "lo", "up"]);
    });
  } catch (e) {
    destroy();
    throw e;
  }
  const known = (h: string): string => {
    if (!hosts.includes(h)) throw new Error(`no host ${h} on this network`);
    return h;
  };
  return {
    id,
    subnet: `${net}.0/24`,
    hosts,
    address: (h) => `${net}.${10 + hosts.indexOf(known(h))}`,
    exec: (h) => ["nsenter", `--net=/run/netns/${ns(known(h))}`, "--"],
    cut: (h) => ip(["-n", lan, "link", "set", veth(known(h)), "down"]),
    restore: (h) => ip(["-n", lan, "link", "set", veth(known(h)), "up"]),
    destroy,
  };
}

/** The compiled server script (git-http-serve.ts). */
const SERVE = join(REPO_ROOT, "build", "test", "helpers", "git-http-serve.js");

export interface NetGitServer {
  /** The URL of the repository `<root>/<name>`. */
  url(name: string): string;
  readonly child: ChildProcess;
  close(): Promise<void>;
}

/**
 * startGitServerOn runs git-http-serve.ts on port 80 of `host`, serving the bare repositories
 * under `root`. A request from a host named in `users` runs as that user (REMOTE_USER: it may
 * push, and the server's hooks see who pushes); anyone else may only fetch. Resolves once the
 * server listens; rejects (and stops it) when it does not within 15 s.
 */
export async function startGitServerOn(lan: Lan, host: string, root: string, users: Readonly<Record<string, string>>): Promise<NetGitServer> {
  const address = lan.address(host);
  const pairs = Object.entries(users).map(([h, user]) => `${lan.address(h)}=${user}`);
  const [cmd, ...prefix] = lan.exec(host);
  const child = spawn(cmd, [...prefix, process.execPath, SERVE, root, address, "80", ...pairs], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the git server on ${host} did not start: ${stderr}`)), 15_000);
      let out = "";
      child.stdout?.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("listening ")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the git server on ${host} exited (${code}): ${stderr}`));
      });
    });
  } catch (e) {
    await close();
    throw e;
  }
  return { url: (name) => `http://${address}/${name}`, child, close };
}
