/**
 * Keys, trust files and signed history for the source tests: ed25519 keys made with
 * ssh-keygen, allowed_signers files, and a work repository where native git makes commits
 * (signed with `gpg.format=ssh`, or not) and pushes them to bare repositories the test
 * servers serve. Test code: runs git and ssh-keygen directly.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface SshKey {
  readonly name: string;
  /** Private key file. */
  readonly private: string;
  /** Public key file. */
  readonly public: string;
  /** `ssh-ed25519 AAAA…` (type and key, no comment). */
  readonly publicLine: string;
}

/** makeTempDir creates a fresh directory under the system temp dir; remove it with removeDir. */
export function makeTempDir(prefix = "steward-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** makeKey generates an unencrypted key pair `<dir>/<name>` and `<dir>/<name>.pub` (ed25519 unless told). */
export function makeKey(dir: string, name: string, type: "ed25519" | "ecdsa" | "rsa" = "ed25519", bits?: number): SshKey {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, ...(bits === undefined ? [] : ["-b", String(bits)]), "-N", "", "-C", name, "-f", file], { stdio: "ignore" });
  const publicLine = readFileSync(`${file}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
  return { name, private: file, public: `${file}.pub`, publicLine };
}

/** allowedSigners renders an allowed_signers text: one `principal namespaces="git" key` line per signer. */
export function allowedSigners(signers: readonly { principal: string; key: SshKey }[]): string {
  return signers.map((s) => `${s.principal} namespaces="git" ${s.key.publicLine}\n`).join("");
}

/** writeAllowedSigners writes an allowed_signers file and returns its path. */
export function writeAllowedSigners(path: string, signers: readonly { principal: string; key: SshKey }[]): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, allowedSigners(signers));
  return path;
}

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "Admin",
  GIT_AUTHOR_EMAIL: "admin@cluster",
  GIT_COMMITTER_NAME: "Admin",
  GIT_COMMITTER_EMAIL: "admin@cluster",
  GIT_TERMINAL_PROMPT: "0",
};

/** git runs native git with a clean configuration and returns stdout (trimmed). */
export function git(cwd: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): string {
  return execFileSync("git", [...args], {
    cwd,
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: cwd, ...GIT_ENV, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** makeBare creates an empty bare repository (default branch main) at `path`. */
export function makeBare(path: string): string {
  mkdirSync(path, { recursive: true });
  git(path, ["init", "-q", "--bare", "-b", "main"]);
  return path;
}

export interface CommitOptions {
  /** Sign with this key (ssh format); unsigned when absent. */
  readonly signer?: SshKey;
  /** Committer and author date, e.g. "@1700000000 +0000". */
  readonly date?: string;
}

/** A non-bare repository where tests write files and make commits with native git. */
export class WorkRepo {
  private constructor(readonly dir: string) {}

  /** create initialises a work repository on branch main in `dir`. */
  static create(dir: string): WorkRepo {
    mkdirSync(dir, { recursive: true });
    git(dir, ["init", "-q", "-b", "main"]);
    return new WorkRepo(dir);
  }

  write(path: string, content: string): this {
    const file = join(this.dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    return this;
  }

  remove(path: string): this {
    rmSync(join(this.dir, path), { force: true });
    return this;
  }

  /** commit stages everything and commits (allowing empty commits); returns the new oid. */
  commit(message: string, options: CommitOptions = {}): string {
    git(this.dir, ["add", "-A"]);
    const signing = options.signer === undefined ? [] : ["-c", "gpg.format=ssh", "-c", `user.signingkey=${options.signer.private}`];
    const env: Record<string, string> = options.date === undefined ? {} : { GIT_COMMITTER_DATE: options.date, GIT_AUTHOR_DATE: options.date };
    git(this.dir, [...signing, "commit", "-q", "--allow-empty", ...(options.signer === undefined ? ["--no-gpg-sign"] : ["-S"]), "-m", message], env);
    return this.head();
  }

  head(): string {
    return git(this.dir, ["rev-parse", "HEAD"]);
  }

  /** merge makes a merge commit of `other` into the current branch (first parent: current). */
  merge(other: string, message: string, options: CommitOptions = {}): string {
    const signing = options.signer === undefined ? [] : ["-c", "gpg.format=ssh", "-c", `user.signingkey=${options.signer.private}`];
    git(this.dir, [...signing, "merge", "-q", "--no-ff", "--allow-unrelated-histories", ...(options.signer === undefined ? ["--no-gpg-sign"] : ["-S"]), "-m", message, other]);
    return this.head();
  }

  checkout(args: readonly string[]): this {
    git(this.dir, ["checkout", "-q", ...args]);
    return this;
  }

  /** resetHard moves the current branch to `oid`. */
  resetHard(oid: string): this {
    git(this.dir, ["reset", "-q", "--hard", oid]);
    return this;
  }

  /** push pushes HEAD to `refs/heads/<branch>` of the bare repository at `bare`. */
  push(bare: string, options: { force?: boolean; branch?: string } = {}): this {
    git(this.dir, ["push", "-q", ...(options.force === true ? ["--force"] : []), bare, `HEAD:refs/heads/${options.branch ?? "main"}`]);
    return this;
  }
}
