/**
 * `steward init`: bootstrap a node: its key, its configuration, the git server's pinned host
 * key; then print what the admin adds to the cluster repo and to the git server.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { writeFileAtomic } from "../atomic-write.js";
import { loadConfig } from "../config.js";
import { StewardError } from "../errors.js";
import { systemExecutor } from "../exec.js";
import { adminLines, makeNodeKey, parseRemotes, renderConfig, scanHostKeys, type ScannedKey } from "../init/init.js";
import { checkAllowedSigners } from "../source/trust.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command, type Io } from "./command.js";

const NODE = /^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$/;

export const initCommand: Command = {
  name: "init",
  usage: [
    "usage: steward init --node NAME --remote URL [--remote URL ...] --trust FILE",
    "                    [--fingerprint SHA256:...] [--etc DIR] [--state DIR] [--force] [--json]",
    "",
    "Prepares this node for `steward agent`, in --etc (default /usr/local/etc/steward):",
    "  id_ed25519       the node's key (kept when it exists): signs its status reports and logs",
    "                   in to ssh remotes",
    "  allowed_signers  a copy of --trust, the admins' keys the node trusts before the repo's own",
    "                   trust/allowed_signers takes over (copy the repo's file)",
    "  known_hosts      each ssh remote's host key, pinned once you confirm its fingerprint",
    "  steward.yaml     the configuration: the remotes in the order given (origin, mirror, ...)",
    "Then prints the line to add to nodes/<node>.yaml, the git server's authorized_keys line",
    "(and the gitolite key name), and how to start the agent.",
    "",
    "  --node NAME           this node's name, as in nodes/<NAME>.yaml",
    "  --remote URL          ssh://git@host/path, https://host/path or /local/path; repeat for mirrors",
    "  --trust FILE          an OpenSSH allowed_signers file listing the admins' keys",
    "  --fingerprint FP      the host key fingerprint each ssh server must show (ssh-keygen -lf",
    "                        /etc/ssh/ssh_host_ed25519_key.pub on the server); without it init asks",
    "                        on a terminal, and refuses elsewhere, printing what the server showed",
    "  --etc DIR             where the files go (default /usr/local/etc/steward)",
    "  --state DIR           the agent's state directory (default /var/db/steward)",
    "  --force               replace an existing steward.yaml",
    "",
    "Exit status: 0 done, 1 refused (a fingerprint not confirmed, a configuration that exists,",
    "a server that does not answer), 2 usage.",
  ].join("\n"),
  options: {
    node: { type: "string" },
    remote: { type: "string", multiple: true },
    trust: { type: "string" },
    fingerprint: { type: "string", multiple: true },
    etc: { type: "string" },
    state: { type: "string" },
    force: { type: "boolean" },
  },
  allowPositionals: false,
  async run(values, _positionals, io) {
    const node = typeof values["node"] === "string" ? values["node"] : undefined;
    const urls = (values["remote"] as string[] | undefined) ?? [];
    const trustFile = typeof values["trust"] === "string" ? values["trust"] : undefined;
    if (node === undefined || !NODE.test(node)) throw usageError("--node NAME is required: lowercase letters, digits and '-', as in nodes/<NAME>.yaml");
    if (urls.length === 0) throw usageError("at least one --remote URL is required");
    if (trustFile === undefined) throw usageError("--trust FILE is required: the admins' allowed_signers (the cluster repo's trust/allowed_signers)");
    const etc = typeof values["etc"] === "string" ? values["etc"] : "/usr/local/etc/steward";
    const state = typeof values["state"] === "string" ? values["state"] : "/var/db/steward";
    const json = values["json"] === true;
    const remotes = parseRemotes(urls);

    const trustText = await readFile(trustFile, "utf8").catch((e: unknown) => {
      throw new StewardError("CONFIG_INVALID", `--trust ${trustFile}: ${e instanceof Error ? e.message : String(e)}`, { hint: "name the admins' allowed_signers file (the cluster repo's trust/allowed_signers)" });
    });
    const trustCheck = checkAllowedSigners(trustText);
    if (trustCheck.problems.length > 0 || trustCheck.entries === 0) {
      const first = trustCheck.problems[0];
      throw new StewardError("CONFIG_INVALID", `--trust ${trustFile}: ${first === undefined ? "trusts no key" : `line ${first.line}: ${first.message}`}`, { hint: "each line: principal [options] keytype base64 (ssh-keygen(1), ALLOWED SIGNERS)" });
    }

    const paths = { key: join(etc, "id_ed25519"), trust: join(etc, "allowed_signers"), knownHosts: join(etc, "known_hosts"), config: join(etc, "steward.yaml") };
    if (existsSync(paths.config) && values["force"] !== true) {
      throw new StewardError("CONFIG_INVALID", `${paths.config} exists`, { data: { file: paths.config }, hint: "steward init writes a new configuration: pass --force to replace it, or edit it by hand" });
    }

    // The ssh servers' host keys, pinned only once their fingerprints are confirmed.
    const pinned: ScannedKey[] = [];
    const wanted = (values["fingerprint"] as string[] | undefined) ?? [];
    const seen = new Set<string>();
    for (const r of remotes) {
      if (r.target.kind !== "ssh") continue;
      const port = r.target.port ?? 22;
      const where = `${r.target.host}:${port}`;
      if (seen.has(where)) continue;
      seen.add(where);
      const keys = await scanHostKeys(systemExecutor, r.target.host, port);
      pinned.push(...(await confirm(where, keys, wanted, io)));
    }

    await mkdir(etc, { recursive: true, mode: 0o755 });
    let keyState: "created" | "kept" = "kept";
    if (!existsSync(paths.key)) {
      await makeNodeKey(systemExecutor, paths.key, node);
      keyState = "created";
    }
    const publicKey = (await readFile(`${paths.key}.pub`, "utf8")).trim();
    await writeFileAtomic(paths.trust, Buffer.from(trustText), 0o644, 0o755);
    if (pinned.length > 0) await writeFileAtomic(paths.knownHosts, Buffer.from(pinned.map((k) => `${k.line}\n`).join("")), 0o644, 0o755);
    await writeFileAtomic(paths.config, Buffer.from(renderConfig({ node, state, trust: paths.trust, key: paths.key, knownHosts: paths.knownHosts, remotes })), 0o644, 0o755);
    await loadConfig(paths.config);

    const lines = adminLines(node, publicKey);
    if (json) {
      io.out(JSON.stringify({ ok: true, node, files: { ...paths, keyState }, pinned: pinned.map((k) => ({ line: k.line, fingerprint: k.fingerprint })), add: lines }, null, 2));
      return EXIT_OK;
    }
    io.out(
      [
        `steward init: node ${node}`,
        `  key          ${paths.key} (${keyState})`,
        `  trust        ${paths.trust} (${trustCheck.entries} key${trustCheck.entries === 1 ? "" : "s"})`,
        ...(pinned.length > 0 ? [`  known_hosts  ${paths.knownHosts} (${pinned.map((k) => `${k.type} ${k.fingerprint}`).join(", ")})`] : []),
        `  config       ${paths.config}`,
        "",
        `1. In the cluster repo, add to nodes/${node}.yaml and push it as a signed commit:`,
        `     ${lines.manifest}`,
        "2. On the git server, add to the git account's ~/.ssh/authorized_keys (it lets this key push",
        `   status/${node} only; hooks/README.md, "Status branches"):`,
        `     ${lines.authorizedKeys}`,
        `   (gitolite: save the public key as ${lines.gitolite})`,
        "3. Start the agent:",
        "     sysrc steward_enable=YES",
        "     service steward start",
        `   and watch it: steward fetch --config ${paths.config}; tail -f /var/log/steward.log`,
      ].join("\n"),
    );
    return EXIT_OK;
  },
};

/**
 * confirm returns the host keys to pin for one server: those whose fingerprint was given with
 * --fingerprint, or all of them once the admin says yes on a terminal. Throws SOURCE_HOST_KEY
 * (nothing written yet) otherwise.
 */
async function confirm(where: string, keys: readonly ScannedKey[], wanted: readonly string[], io: Io): Promise<ScannedKey[]> {
  const shown = keys.map((k) => `${k.type} ${k.fingerprint}`).join("\n    ");
  if (wanted.length > 0) {
    const matching = keys.filter((k) => wanted.includes(k.fingerprint));
    if (matching.length > 0) return matching;
    throw new StewardError("SOURCE_HOST_KEY", `${where} shows none of the fingerprints given:\n    ${shown}`, { data: { where, shown: keys.map((k) => k.fingerprint), wanted }, hint: "a different key may mean a man in the middle: check on the server with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub", retry: "stalled" });
  }
  if (process.stdin.isTTY === true && process.stdout.isTTY === true) {
    io.out(`The git server ${where} shows these host keys:\n    ${shown}`);
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question("Are these the server's keys (check with ssh-keygen -lf on the server)? [y/N] ");
    rl.close();
    if (/^y(es)?$/i.test(answer.trim())) return [...keys];
  }
  throw new StewardError("SOURCE_HOST_KEY", `the host key of ${where} is not confirmed; it shows:\n    ${shown}`, { data: { where, shown: keys.map((k) => k.fingerprint) }, hint: "check the fingerprint on the server (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and run steward init again with --fingerprint SHA256:…", retry: "stalled" });
}
