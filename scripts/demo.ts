/**
 * `make demo`: a git server and the cluster template's three nodes (alpha, beta, pi) on this
 * machine, each in its own network namespace on a private network that routes nowhere
 * (test/helpers/netns.ts), each node with its own ZFS pool (zfs-fuse on a file) and its own
 * simulated FreeBSD host for the jail, rc and pf tools (sim/README.md). Everything else is real:
 * git, the SSH signatures, ZFS, the network, the hooks, `steward` itself.
 *
 * What it shows, in order: `steward init` on each node; the admin's signed push of the
 * template, checked by the server's pre-receive hook; three `steward agent` processes
 * converging their own part; `steward status` from the admin's clone; a signed change that
 * touches two nodes, with each node's plan before it runs; the nodes converging it; the signed
 * status reports in `git log --show-signature`; an unsigned push refused by the server.
 * Everything is removed at the end, also after a failure or Ctrl-C.
 */
import { spawn } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startAgent, type AgentProcess, type LogLine } from "../test/helpers/agent-process.js";
import { CLI_MAIN, REPO_ROOT } from "../test/helpers/cli.js";
import { installHooks, makeNode, type ClusterNode } from "../test/helpers/cluster.js";
import { makeBare, makeKey, makeTempDir, removeDir } from "../test/helpers/keys.js";
import { createLan, startGitServerOn, type Lan, type NetGitServer } from "../test/helpers/netns.js";

const NODES = ["alpha", "beta", "pi"] as const;
type NodeName = (typeof NODES)[number];

const tty = process.stdout.isTTY;
const bold = (s: string): string => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const print = (s: string): void => void process.stdout.write(`${s}\n`);
const say = (s: string): void => print(`\n${bold(`== ${s}`)}`);

const root = makeTempDir("steward-demo-");
const short = (s: string): string => s.replaceAll(root, "$DEMO");
const started = performance.now();
const seconds = (t0: number): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

let lan: Lan | undefined;
const nodes = new Map<NodeName, ClusterNode>();
const agents = new Map<NodeName, AgentProcess>();
const servers: NetGitServer[] = [];
let failed = false;

/** Where a command runs: a host of the demo network (its prompt), with an environment and a directory. */
interface Where {
  readonly host: NodeName | "admin";
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/**
 * run shows a command as its host's user would type it, runs it there with its output on the
 * terminal (only the lines `keep` accepts, when given) and resolves with its exit code.
 */
async function run(where: Where, display: string, argv: readonly string[], keep?: (line: string) => boolean): Promise<number> {
  const prompt = where.host === "admin" ? "admin$" : `[${where.host}]#`;
  print(`${dim(prompt)} ${short(display)}`);
  const [cmd, ...args] = [...(lan as Lan).exec(where.host), ...argv];
  const child = spawn(cmd as string, args, {
    cwd: where.cwd ?? root,
    env: { ...(where.env ?? process.env), STEWARD_LOG: "error" },
    stdio: ["ignore", keep === undefined ? "inherit" : "pipe", keep === undefined ? "inherit" : "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  if (keep !== undefined) {
    const kept = out.split("\n").filter(keep).map(short);
    if (kept.length > 0) print(kept.join("\n"));
  }
  return code;
}

const steward = (args: readonly string[]): string[] => [process.execPath, CLI_MAIN, ...args];
/** shell writes an argument vector as one would type it. */
const shell = (argv: readonly string[]): string => argv.map((a) => (/^[\w./:=@,+-]+$/.test(a) ? a : `'${a}'`)).join(" ");
const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"}`;

/** expect records a step that did not end as it should; the demo goes on, and fails at the end. */
function expect(code: number, want: number, what: string): void {
  if (code !== want) {
    failed = true;
    print(`demo: ${what}: expected exit ${want}, got ${code}`);
  }
}

const converged = (revision: string) => (l: LogLine): boolean => l.msg.startsWith("run finished") && l["revision"] === revision && l["verdict"] === "converged";

/**
 * waitConverged waits until every agent has converged `revision` (from log line `from` of each),
 * printing one line per node as it does, with the actions it ran when `actions`.
 */
async function waitConverged(revision: string, from: ReadonlyMap<NodeName, number>, actions: boolean): Promise<void> {
  const t0 = performance.now();
  await Promise.all(
    NODES.map(async (n) => {
      const agent = agents.get(n) as AgentProcess;
      const done = await agent.waitFor(converged(revision), 150_000, from.get(n) ?? 0);
      const ran = agent.lines.slice(from.get(n) ?? 0).filter((l) => l.msg === "action done");
      const pushed = (done["pushed"] as string[] | undefined) ?? [];
      print(`${n.padEnd(6)} converged ${revision.slice(0, 12)} in ${seconds(t0)}: ${plural(Number(done["applied"] ?? 0), "action")} applied; its report ${String(done["status"])}${pushed.length > 0 ? `, pushed to ${pushed.join(", ")}` : ""}`);
      if (actions) for (const l of ran) print(`         ${String(l["outcome"])}  ${String(l["action"])}`);
    }),
  );
}

let cleaning: Promise<void> | undefined;
/** cleanup stops the agents and servers and removes the network, the pools and the files; runs once. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const a of agents.values()) a.signal("SIGTERM");
    await Promise.race([Promise.all([...agents.values()].map((a) => a.exited)), new Promise((r) => setTimeout(r, 10_000))]);
    for (const a of agents.values()) a.killGroup();
    await Promise.all(servers.map((s) => s.close()));
    lan?.destroy();
    for (const n of nodes.values()) await n.pool.destroy();
    removeDir(root);
  })();
  return cleaning;
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    print(`\ndemo: ${sig}: cleaning up`);
    void cleanup().then(() => process.exit(130));
  });
}

try {
  print(bold("Steward demo: a git server and three FreeBSD nodes on this machine, converged from signed git commits."));
  print("Each node runs `steward agent` in its own network namespace, with its own ZFS pool (zfs-fuse on a file)");
  print("and a simulated FreeBSD for jail, jls, jexec, pkg, service, sysrc and pfctl. Git, the signatures, ZFS,");
  print(`the network and steward are real. Files are under ${root} ($DEMO below).`);

  say("1. The machines: a private network that routes nowhere");
  lan = createLan(["git", "admin", ...NODES]);
  const net = lan;
  for (const n of NODES) nodes.set(n, await makeNode(root, n, `demo${n.slice(0, 2)}`));
  const node = (n: NodeName): ClusterNode => nodes.get(n) as ClusterNode;
  const adminDir = join(root, "admin");
  const admin = makeKey(join(adminDir, ".ssh"), "id_ed25519");
  const trust = join(adminDir, "allowed_signers");
  writeFileSync(trust, `admin@home.arpa namespaces="git" ${admin.publicLine}\n`);
  const srv = join(root, "srv");
  mkdirSync(srv);
  const bare = makeBare(join(srv, "cluster.git"));
  installHooks(bare, trust);
  const users = { admin: "admin", ...Object.fromEntries(NODES.map((n) => [n, `${n}@steward`])) };
  const server = await startGitServerOn(net, "git", srv, users);
  servers.push(server);
  const url = server.url("cluster.git");
  const services: Record<NodeName, string> = { alpha: "mail, git", beta: "caldav, taskd, xmpp", pi: "blog" };
  print(`  git    ${net.address("git").padEnd(14)} the cluster repo, ${url} (git http-backend; its pre-receive hook runs steward)`);
  print(`  admin  ${net.address("admin").padEnd(14)} you: an SSH signing key, a clone of the cluster repo`);
  for (const n of NODES) print(`  ${n.padEnd(6)} ${net.address(n).padEnd(14)} pool ${node(n).pool.name}: ${services[n]}`);

  say("2. Each node: steward init makes its key and configuration (and prints the line for its nodes/<node>.yaml)");
  const keyLines = new Map<NodeName, string>();
  for (const n of NODES) {
    const initArgs = ["init", "--node", n, "--remote", url, "--trust", trust, "--etc", node(n).etc, "--state", node(n).state];
    // All of alpha's answer up to the git server's part (this server knows its nodes by address); the key line of the others.
    let past = false;
    const keep = (l: string): boolean => {
      past ||= l.startsWith("2. ");
      return n === "alpha" ? !past && l !== "" : /^\s+key: /.test(l);
    };
    expect(await run({ host: n }, `steward ${initArgs.join(" ")}`, steward(initArgs), keep), 0, `steward init on ${n}`);
    const [type, base64] = readFileSync(join(node(n).etc, "id_ed25519.pub"), "utf8").trim().split(/\s+/);
    keyLines.set(n, `key: ${type ?? ""} ${base64 ?? ""} ${n}@steward`);
    // This machine is not the node's FreeBSD: its jail.conf(5) files go next to its configuration.
    appendFileSync(node(n).config, `jail_conf_dir: ${node(n).jailConfDir}\n`);
  }
  print(dim("(the demo adds jail_conf_dir: $DEMO/<node>/jail.conf.d to each steward.yaml: /etc/jail.conf.d is this machine's)"));

  say("3. The admin: the template, your key in trust/allowed_signers, each node's key: line; a signed commit, pushed");
  const home = join(adminDir, "home");
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, ".gitconfig"),
    `[user]\n\tname = Admin\n\temail = admin@home.arpa\n\tsigningkey = ${admin.private}\n[gpg]\n\tformat = ssh\n[commit]\n\tgpgsign = true\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n`,
  );
  const adminEnv = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0" };
  const cluster = join(adminDir, "cluster");
  const at = (cwd: string): Where => ({ host: "admin", env: adminEnv, cwd });
  cpSync(join(REPO_ROOT, "cluster-repo-template"), cluster, { recursive: true });
  print(`${dim("admin$")} cp -R cluster-repo-template $DEMO/admin/cluster && cd $DEMO/admin/cluster`);
  appendFileSync(join(cluster, "trust", "allowed_signers"), `admin@home.arpa namespaces="git" ${admin.publicLine}\n`);
  print(`${dim("admin$")} echo "admin@home.arpa namespaces=\\"git\\" $(cat ~/.ssh/id_ed25519.pub)" >> trust/allowed_signers`);
  for (const n of NODES) {
    const file = join(cluster, "nodes", `${n}.yaml`);
    // This machine's pools and jail roots instead of the template's; zfs-fuse has no lz4.
    writeFileSync(file, `${readFileSync(file, "utf8").replace(/^pool: .*$/m, `pool: ${node(n).pool.name}`)}jails: ${node(n).pool.dir}/jails\n${keyLines.get(n) ?? ""}\n`);
    print(`${dim("admin$")} echo "${(keyLines.get(n) ?? "").slice(0, 40)}…" >> nodes/${n}.yaml`);
  }
  const clusterYaml = join(cluster, "cluster.yaml");
  writeFileSync(clusterYaml, readFileSync(clusterYaml, "utf8").replace("compression: lz4", "compression: gzip"));
  print(dim("(and, for this machine: each node's pool: and jails: lines, and gzip instead of lz4, which zfs-fuse lacks)"));
  expect(await run(at(cluster), "steward validate .", steward(["validate", "."])), 0, "validate");
  expect(await run(at(cluster), "steward check .", steward(["check", "."])), 0, "check");
  for (const argv of [
    ["git", "init", "-q"],
    ["git", "add", "."],
    ["git", "commit", "-q", "-m", "The cluster: three nodes, six services"],
    ["git", "remote", "add", "origin", url],
  ]) expect(await run(at(cluster), shell(argv), argv), 0, argv.slice(0, 2).join(" "));
  expect(await run(at(cluster), "git push -u origin main", ["git", "push", "-q", "-u", "origin", "main"]), 0, "the first push");
  const head = async (): Promise<string> => {
    let out = "";
    const child = spawn("git", ["-C", cluster, "rev-parse", "HEAD"], { env: adminEnv });
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    await new Promise((r) => child.on("close", r));
    return out.trim();
  };
  const first = await head();

  say("4. Three agents start, one per node: each fetches, verifies, and converges its own part");
  for (const n of NODES) {
    print(`${dim(`[${n}]#`)} steward agent --config ${short(node(n).config)} &`);
    agents.set(n, startAgent(["--config", node(n).config], node(n).env, net.exec(n)));
  }
  await waitConverged(first, new Map(), false);
  for (const n of NODES) expect(await run({ host: n, env: node(n).env }, "jls", ["jls"]), 0, `jls on ${n}`);

  say("5. On the admin's laptop: what every node reports (signed status commits, fetched from the server)");
  expect(await run(at(cluster), "git fetch -q", ["git", "fetch", "-q"]), 0, "git fetch");
  expect(await run(at(cluster), "steward status", steward(["status"])), 0, "steward status");

  say("6. A signed change that touches two nodes: mail (alpha) to 25G, xmpp (beta) to 3G");
  for (const argv of [
    ["sed", "-i", "s/quota: 20G/quota: 25G/", "services/mail.yaml"],
    ["sed", "-i", "s/quota: 2G/quota: 3G/", "services/xmpp.yaml"],
    ["git", "commit", "-q", "-am", "mail 25G, xmpp 3G"],
  ]) expect(await run(at(cluster), shell(argv), argv), 0, argv.slice(0, 2).join(" "));
  print(dim("Before it is pushed (as a pull request would be): what each node will do, planned on the laptop against the host each node last reported:"));
  expect(await run(at(cluster), "steward plan --rev HEAD", steward(["plan", "--rev", "HEAD"])), 0, "steward plan --rev HEAD");
  expect(await run(at(cluster), "git push", ["git", "push", "-q"]), 0, "the change's push");
  const change = await head();

  say("7. The nodes converge: steward kick wakes each agent now (else it fetches within its interval, 60 s)");
  const from = new Map(NODES.map((n) => [n, (agents.get(n) as AgentProcess).lines.length]));
  for (const n of NODES) expect(await run({ host: n, env: node(n).env }, `steward kick --config ${node(n).config}`, steward(["kick", "--config", node(n).config])), 0, `kick on ${n}`);
  await waitConverged(change, from, true);

  say("8. The admin reads the reports again, and checks the signatures on alpha's");
  expect(await run(at(cluster), "git fetch -q && steward status", ["sh", "-c", `git fetch -q && exec ${process.execPath} ${CLI_MAIN} status`]), 0, "steward status after the change");
  const signers = join(adminDir, "nodes_allowed_signers");
  writeFileSync(signers, NODES.map((n) => `${n}@steward namespaces="git" ${(keyLines.get(n) ?? "").split(" ").slice(1, 3).join(" ")}\n`).join(""));
  print(dim("(nodes_allowed_signers lists alpha@steward, beta@steward and pi@steward with their key: lines)"));
  expect(await run(at(cluster), `git config gpg.ssh.allowedSignersFile ${signers}`, ["git", "config", "gpg.ssh.allowedSignersFile", signers]), 0, "git config");
  expect(await run(at(cluster), "git log --show-signature -2 origin/status/alpha", ["git", "--no-pager", "log", "--show-signature", "-2", "origin/status/alpha"]), 0, "git log --show-signature");

  say("9. A push the nodes would refuse never reaches them: the server's hook checks it as a node would");
  for (const argv of [
    ["sed", "-i", "s/quota: 5G/quota: 50G/", "services/caldav.yaml"],
    ["git", "commit", "-q", "--no-gpg-sign", "-am", "caldav 50G"],
  ]) expect(await run(at(cluster), shell(argv), argv), 0, argv.slice(0, 2).join(" "));
  expect(await run(at(cluster), "git push", ["git", "push", "-q"], (l) => /^remote: steward|^ ! \[remote rejected\]|^remote:\s+(hint|commit):/.test(l)), 1, "the unsigned push");
} catch (e) {
  failed = true;
  print(`demo: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
} finally {
  await cleanup();
}
say(failed ? `demo FAILED (${seconds(started)})` : `demo done in ${seconds(started)}: everything above ran on this machine, and is removed`);
process.exitCode = failed ? 1 : 0;
