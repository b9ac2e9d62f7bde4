/**
 * An OpenSSH server on 127.0.0.1 for tests (sshd(8), sshd_config(5)): its own config, host key and
 * authorized_keys in a temp directory, started by absolute path in the foreground on a free
 * high port. The authorized key may only run git-shell (`restrict,command=…`), like a git
 * server's git account. Logins are as the user running the tests (root in CI).
 * Throws when sshd cannot be started: a test that needs it fails, never skips.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import { makeKey, type SshKey } from "./keys.js";

export const SSHD = "/usr/sbin/sshd";
export const GIT_SHELL = existsSync("/usr/bin/git-shell") ? "/usr/bin/git-shell" : "/usr/local/bin/git-shell";

export interface Sshd {
  readonly port: number;
  readonly user: string;
  /** A known_hosts file pinning this server's host key. */
  readonly knownHosts: string;
  /** A key authorised to log in (git-shell only). */
  readonly clientKey: SshKey;
  /** The server's current host key (public half in `.public`). */
  readonly hostKey: SshKey;
  /** `ssh://user@127.0.0.1:port<path>` */
  url(path: string): string;
  /**
   * rotateHostKey restarts the server on the same port with a new host key, as a reinstalled
   * server (or a man in the middle) would present; `knownHosts` keeps pinning the old one.
   */
  rotateHostKey(): Promise<void>;
  close(): Promise<void>;
}

/** freePort asks the kernel for an unused loopback port. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no address");
  return address.port;
}

/** What a test's sshd lets its client key run. */
export interface SshdOptions {
  /**
   * The forced command of the client key (authorized_keys `command="…"`), e.g. Steward's
   * backup wrappers; default git-shell, as a git server's account.
   */
  readonly command?: string;
}

/** startSshd starts sshd with its files under `dir` and waits until it listens. */
export async function startSshd(dir: string, options: SshdOptions = {}): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (make host)`);
  if (!existsSync(GIT_SHELL)) throw new Error("git-shell is missing: install git");
  mkdirSync(dir, { recursive: true });
  // Debian's sshd refuses to start without its privilege separation directory.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  let hostKey = makeKey(dir, "hostkey");
  const clientKey = makeKey(dir, "client");
  const authorized = join(dir, "authorized_keys");
  // sshd runs the forced command through the account's shell, and Debian's bash then sources
  // ~/.bashrc (SSH_SOURCE_BASHRC) unless SHLVL says it is nested: a developer's slow .bashrc
  // would otherwise add its start-up time to every connection.
  const command = options.command ?? `${GIT_SHELL} -c \\"$SSH_ORIGINAL_COMMAND\\"`;
  writeFileSync(authorized, `restrict,environment="SHLVL=1",command="${command}" ${clientKey.publicLine} client\n`);
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = join(dir, "sshd_config");
    writeFileSync(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey.private}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${authorized}`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitUserEnvironment SHLVL",
        "PermitRootLogin prohibit-password",
        "AllowTcpForwarding no",
        "X11Forwarding no",
        "UseDNS no",
        "LoginGraceTime 10",
        "MaxStartups 100",
        "LogLevel INFO",
        "",
      ].join("\n"),
    );
    let child = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    const ok = await waitListening(child, 5_000);
    if (ok.listening) {
      let rotations = 0;
      const knownHosts = join(dir, "known_hosts");
      writeFileSync(knownHosts, `[127.0.0.1]:${port} ${readFileSync(hostKey.public, "utf8").trim().split(" ").slice(0, 2).join(" ")}\n`);
      const user = userInfo().username;
      return {
        port,
        user,
        knownHosts,
        clientKey,
        get hostKey() {
          return hostKey;
        },
        url: (path) => `ssh://${user}@127.0.0.1:${port}${path}`,
        rotateHostKey: async () => {
          await stop(child);
          hostKey = makeKey(dir, `hostkey${++rotations}`);
          writeFileSync(config, readFileSync(config, "utf8").replace(/^HostKey .*$/m, `HostKey ${hostKey.private}`));
          child = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
          const again = await waitListening(child, 5_000);
          if (!again.listening) throw new Error(`sshd did not restart: ${again.stderr}`);
        },
        close: () => stop(child),
      };
    }
    lastError = ok.stderr;
    await stop(child);
  }
  throw new Error(`sshd did not start: ${lastError}`);
}

function waitListening(child: ChildProcess, timeoutMs: number): Promise<{ listening: boolean; stderr: string }> {
  return new Promise((resolve) => {
    let stderr = "";
    const timer = setTimeout(() => resolve({ listening: false, stderr: `${stderr}(timeout)` }), timeoutMs);
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
      if (stderr.includes("Server listening on")) {
        clearTimeout(timer);
        resolve({ listening: true, stderr });
      }
    });
    child.on("exit", () => {
      clearTimeout(timer);
      resolve({ listening: false, stderr });
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
