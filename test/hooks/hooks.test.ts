/**
 * The git hooks in hooks/, run by real git: `git commit` in a client repo with the pre-commit
 * hook, and `git push` into a real bare repo holding pre-receive and post-receive. The hooks
 * find the built CLI through a `steward` wrapper script (on PATH for the client, through
 * `git config steward.bin` for the server). Assertions are on exit codes, refs and the
 * diagnostic codes and positions in the output, never on prose.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { MAX_MANIFEST_BYTES } from "../../agent/src/manifest/yaml.js";
import { CLI_MAIN, REPO_ROOT } from "../helpers/cli.js";

const HOOKS = join(REPO_ROOT, "hooks");
const TEMPLATE = join(REPO_ROOT, "cluster-repo-template");

const root = mkdtempSync(join(tmpdir(), "steward-hooks-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Where the hooks make their temporary directories; it must be empty after every hook run. */
const hookTmp = join(root, "hook-tmp");
const binDir = join(root, "bin");
const wrapper = join(binDir, "steward");
mkdirSync(hookTmp);
mkdirSync(binDir);
mkdirSync(join(root, "home"));
writeFileSync(wrapper, `#!/bin/sh\nexec ${shQuote(process.execPath)} ${shQuote(CLI_MAIN)} "$@"\n`);
chmodSync(wrapper, 0o755);
writeFileSync(join(root, "gitconfig"), "[user]\n\tname = Test Admin\n\temail = admin@example.invalid\n[init]\n\tdefaultBranch = main\n");

/** An environment free of the caller's git settings; `steward` on PATH only when asked. */
function environment(withStewardOnPath: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("GIT_") && k !== "STEWARD_BIN") env[k] = v;
  return {
    ...env,
    HOME: join(root, "home"),
    TMPDIR: hookTmp,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: join(root, "gitconfig"),
    PATH: withStewardOnPath ? `${binDir}:${process.env["PATH"] ?? ""}` : (process.env["PATH"] ?? ""),
  };
}
const clientEnv = environment(true);
const serverEnv = environment(false);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv): Run {
  const r = spawnSync("git", args, { cwd, env, encoding: "utf8", timeout: 30_000 });
  if (r.error !== undefined) throw r.error;
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** git runs a git command that must succeed and returns its trimmed stdout. */
function git(cwd: string, ...args: string[]): string {
  const r = run(cwd, args, clientEnv);
  assert.equal(r.code, 0, `git ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout.trim();
}

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

let counter = 0;
function freshDir(name: string): string {
  const dir = join(root, `${name}-${++counter}`);
  mkdirSync(dir);
  return dir;
}

function assertHookTmpClean(): void {
  assert.deepEqual(readdirSync(hookTmp), [], "a hook left its temporary directory behind");
}

// The template's mail service, and edits of it whose diagnostics we know the position of.
const MAIL = "services/mail.yaml";
const mailText = readFileSync(join(TEMPLATE, MAIL), "utf8");
/** An unknown top-level key on a new last line: MANIFEST_SCHEMA at column 1 of that line. */
const badMail = `${mailText}colour: blue\n`;
const badMailLine = mailText.split("\n").length;
const badMailWhere = `${MAIL}:${badMailLine}:1`;

/** A manifest of `bytes` bytes (valid YAML comments): over the validator's 1 MiB limit when bytes > MAX_MANIFEST_BYTES. */
function bigManifest(bytes: number): string {
  const line = `# ${"x".repeat(77)}\n`;
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes - 1) + "\n";
}
const HUGE = "services/huge.yaml";
const HUGE_BYTES = 3 * 1024 * 1024;
/** A TMPDIR that does not exist: a hook that tried to export the tree would fail in mktemp. */
const noTmp = join(root, "no-such-tmp");

function whereOf(text: string, needle: string): { line: number; column: number } {
  const lines = text.split("\n");
  const i = lines.findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} not in the template`);
  return { line: i + 1, column: (lines[i] ?? "").indexOf(needle) + 1 };
}

/** hasDiagnostic tells whether output holds a `file:line:col  CODE` line (optionally `remote: `-prefixed). */
function hasDiagnostic(output: string, where: string, code: string): boolean {
  const escaped = where.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^(?:remote: )?${escaped}\\s+${code}\\b`, "m").test(output);
}

/** A client repo holding a copy of the template, nothing staged yet, hooks from hooks/. */
function clientRepo(): string {
  const dir = freshDir("client");
  git(dir, "init", "-q", "-b", "main");
  git(dir, "config", "core.hooksPath", HOOKS);
  cpSync(TEMPLATE, dir, { recursive: true });
  return dir;
}

function commit(dir: string, ...args: string[]): Run {
  return run(dir, ["commit", "-q", ...args], clientEnv);
}

describe("pre-commit", () => {
  test("a valid staged tree is committed", () => {
    const dir = clientRepo();
    git(dir, "add", "-A");
    const r = commit(dir, "-m", "start from the template");
    assert.equal(r.code, 0, r.stderr);
    assert.match(git(dir, "rev-parse", "HEAD"), /^[0-9a-f]{40}$/);
    assertHookTmpClean();
  });

  test("an invalid staged tree is refused with the file:line:col and code of the problem", () => {
    const dir = clientRepo();
    writeFileSync(join(dir, MAIL), badMail);
    git(dir, "add", "-A");
    const r = commit(dir, "-m", "bad");
    assert.notEqual(r.code, 0);
    assert.ok(hasDiagnostic(r.stderr, badMailWhere, "MANIFEST_SCHEMA"), r.stderr);
    assert.equal(run(dir, ["rev-parse", "--verify", "-q", "HEAD"], clientEnv).code, 1, "no commit was made");
    assertHookTmpClean();
  });

  test("a bad staged file is refused even when the working tree has fixed it", () => {
    const dir = clientRepo();
    writeFileSync(join(dir, MAIL), badMail);
    git(dir, "add", "-A");
    writeFileSync(join(dir, MAIL), mailText);
    const r = commit(dir, "-m", "staged bad, working tree good");
    assert.notEqual(r.code, 0);
    assert.ok(hasDiagnostic(r.stderr, badMailWhere, "MANIFEST_SCHEMA"), r.stderr);
    assertHookTmpClean();
  });

  test("a good staged tree is committed even when the working tree is broken; commit -a then sees the breakage", () => {
    const dir = clientRepo();
    git(dir, "add", "-A");
    writeFileSync(join(dir, MAIL), badMail);
    const ok = commit(dir, "-m", "staged good, working tree bad");
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(git(dir, "show", `HEAD:${MAIL}`), mailText.trim());
    // `commit -a` hands the hook a temporary index (GIT_INDEX_FILE) holding the working tree.
    const all = commit(dir, "-a", "-m", "now with the broken file");
    assert.notEqual(all.code, 0);
    assert.ok(hasDiagnostic(all.stderr, badMailWhere, "MANIFEST_SCHEMA"), all.stderr);
    assertHookTmpClean();
  });

  test("a file present only in the working tree does not count", () => {
    const dir = clientRepo();
    git(dir, "add", "-A");
    git(dir, "rm", "-q", "--cached", "files/mail/main.cf");
    assert.ok(existsSync(join(dir, "files/mail/main.cf")));
    const r = commit(dir, "-m", "main.cf untracked");
    assert.notEqual(r.code, 0);
    const at = whereOf(mailText, "files/mail/main.cf");
    assert.ok(hasDiagnostic(r.stderr, `${MAIL}:${at.line}:${at.column}`, "MANIFEST_MISSING"), r.stderr);
    assertHookTmpClean();
  });

  test("an oversized staged manifest is refused from its size, before anything is exported or validated", () => {
    const dir = clientRepo();
    const marker = join(root, `called-${counter}`);
    const recording = join(root, `recording-steward-${counter}`);
    writeFileSync(recording, `#!/bin/sh\n: > ${shQuote(marker)}\nexec ${shQuote(wrapper)} "$@"\n`);
    chmodSync(recording, 0o755);
    writeFileSync(join(dir, HUGE), bigManifest(HUGE_BYTES));
    git(dir, "add", "-A");
    const r = run(dir, ["commit", "-q", "-m", "huge"], { ...clientEnv, STEWARD_BIN: recording, TMPDIR: noTmp });
    assert.notEqual(r.code, 0);
    assert.ok(hasDiagnostic(r.stderr, `${HUGE}:1:1`, "MANIFEST_INVALID"), r.stderr);
    assert.match(r.stderr, new RegExp(`${HUGE_BYTES} bytes.*${MAX_MANIFEST_BYTES} bytes`));
    assert.equal(existsSync(marker), false, "steward validate never ran");
    assert.equal(run(dir, ["rev-parse", "--verify", "-q", "HEAD"], clientEnv).code, 1, "no commit was made");
  });

  test("a large file outside the manifests is no reason to refuse", () => {
    const dir = clientRepo();
    writeFileSync(join(dir, "files/mail/archive.txt"), bigManifest(HUGE_BYTES));
    git(dir, "add", "-A");
    const r = commit(dir, "-m", "a big non-manifest file");
    assert.equal(r.code, 0, r.stderr);
    assertHookTmpClean();
  });

  test("STEWARD_BIN names the executable and wins over PATH; an unusable one refuses the commit", () => {
    const dir = clientRepo();
    const marker = join(root, `called-${counter}`);
    const recording = join(root, `recording-steward-${counter}`);
    writeFileSync(recording, `#!/bin/sh\n: > ${shQuote(marker)}\nexec ${shQuote(wrapper)} "$@"\n`);
    chmodSync(recording, 0o755);
    git(dir, "add", "-A");
    const ok = run(dir, ["commit", "-q", "-m", "through STEWARD_BIN"], { ...clientEnv, STEWARD_BIN: recording });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(existsSync(marker), "the hook ran $STEWARD_BIN");
    const missing = run(dir, ["commit", "-q", "--allow-empty", "-m", "no steward"], { ...clientEnv, STEWARD_BIN: join(root, "no-such-steward") });
    assert.notEqual(missing.code, 0);
    assert.equal(git(dir, "rev-list", "--count", "HEAD"), "1", "the second commit was refused");
    assertHookTmpClean();
  });
});

interface Server {
  readonly bare: string;
  readonly client: string;
  /** The commit of the first, valid push to main. */
  readonly first: string;
}

/**
 * A bare repo with pre-receive and post-receive installed as hooks/README.md says, and a client
 * that pushed the template to main. The hooks are installed after that first push unless
 * `hookedFirstPush`, to keep the suite fast (each validation starts a node process).
 */
function server(hookedFirstPush = false): Server {
  const bare = freshDir("server");
  git(bare, "init", "-q", "--bare", "-b", "main");
  const install = (): void => {
    for (const hook of ["pre-receive", "post-receive"]) {
      copyFileSync(join(HOOKS, hook), join(bare, "hooks", hook));
      chmodSync(join(bare, "hooks", hook), 0o755);
    }
    git(bare, "config", "steward.bin", wrapper);
  };
  if (hookedFirstPush) install();
  const client = freshDir("pusher");
  git(client, "init", "-q", "-b", "main");
  cpSync(TEMPLATE, client, { recursive: true });
  git(client, "add", "-A");
  git(client, "commit", "-q", "-m", "start from the template");
  git(client, "remote", "add", "origin", bare);
  const r = push(client, "origin", "main");
  assert.equal(r.code, 0, r.stderr);
  if (!hookedFirstPush) install();
  return { bare, client, first: git(client, "rev-parse", "HEAD") };
}

function push(client: string, ...args: string[]): Run {
  return run(client, ["push", "-q", ...args], serverEnv);
}

/** The commit a ref points at in the bare repo, or undefined when it does not exist. */
function serverRef(bare: string, ref: string): string | undefined {
  const r = run(bare, ["rev-parse", "--verify", "-q", ref], clientEnv);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

function commitFile(client: string, path: string, text: string, message: string): string {
  writeFileSync(join(client, path), text);
  git(client, "add", "-A");
  git(client, "commit", "-q", "-m", message);
  return git(client, "rev-parse", "HEAD");
}

function assertDeclined(r: Run): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /pre-receive hook declined/);
}

describe("pre-receive and post-receive", () => {
  test("a valid first push and a valid fast-forward of main are accepted, and each notifies agents", () => {
    const s = server(true);
    const notify = join(s.bare, "steward-notify");
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
    assert.ok(existsSync(notify), "the first push to main notified");
    rmSync(notify);
    const next = commitFile(s.client, MAIL, mailText.replace("quota: 20G", "quota: 30G"), "more mail");
    const r = push(s.client, "origin", "main");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(serverRef(s.bare, "refs/heads/main"), next);
    assert.ok(existsSync(notify), "the fast-forward notified");
    assertHookTmpClean();
  });

  test("a push of an invalid tree to main is rejected and leaves the server unchanged", () => {
    const s = server();
    const bad = commitFile(s.client, MAIL, badMail, "bad");
    const r = push(s.client, "origin", "main");
    assertDeclined(r);
    assert.ok(hasDiagnostic(r.stderr, badMailWhere, "MANIFEST_SCHEMA"), r.stderr);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
    // The quarantined objects of a rejected push are dropped.
    assert.notEqual(run(s.bare, ["cat-file", "-e", bad], clientEnv).code, 0);
    assertHookTmpClean();
  });

  test("a push with an oversized manifest is rejected from its size, before the tree is exported", () => {
    const s = server();
    commitFile(s.client, HUGE, bigManifest(HUGE_BYTES), "huge");
    const r = run(s.client, ["push", "-q", "origin", "main"], { ...serverEnv, TMPDIR: noTmp });
    assertDeclined(r);
    assert.ok(hasDiagnostic(r.stderr, `${HUGE}:1:1`, "MANIFEST_INVALID"), r.stderr);
    assert.match(r.stderr, new RegExp(`${HUGE_BYTES} bytes.*${MAX_MANIFEST_BYTES} bytes`));
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
  });

  test("a force-push that rewrites main is rejected", () => {
    const s = server();
    git(s.client, "commit", "-q", "--amend", "-m", "rewritten history");
    const rewritten = git(s.client, "rev-parse", "HEAD");
    assert.notEqual(rewritten, s.first);
    const r = push(s.client, "--force", "origin", "main");
    assertDeclined(r);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
  });

  test("deleting main is rejected", () => {
    const s = server();
    const r = push(s.client, "origin", ":refs/heads/main");
    assertDeclined(r);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
  });

  test("another branch may hold an invalid tree, and pushing it does not notify agents", () => {
    const s = server();
    const notify = join(s.bare, "steward-notify");
    git(s.client, "switch", "-q", "-c", "wip");
    const bad = commitFile(s.client, MAIL, badMail, "work in progress");
    const r = push(s.client, "origin", "wip");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(serverRef(s.bare, "refs/heads/wip"), bad);
    assert.equal(existsSync(notify), false);
  });

  test("a push of several refs is rejected whole when main is invalid", () => {
    const s = server();
    git(s.client, "switch", "-q", "-c", "feature");
    commitFile(s.client, MAIL, mailText.replace("quota: 20G", "quota: 25G"), "valid feature");
    git(s.client, "switch", "-q", "main");
    commitFile(s.client, MAIL, badMail, "bad main");
    const r = push(s.client, "origin", "feature", "main");
    assertDeclined(r);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
    assert.equal(serverRef(s.bare, "refs/heads/feature"), undefined);
  });

  test("the tracked branch is taken from git config steward.branch", () => {
    const s = server();
    git(s.bare, "config", "steward.branch", "production");
    const bad = commitFile(s.client, MAIL, badMail, "bad");
    const toMain = push(s.client, "origin", "main");
    assert.equal(toMain.code, 0, toMain.stderr);
    assert.equal(serverRef(s.bare, "refs/heads/main"), bad);
    const toProduction = push(s.client, "origin", "main:refs/heads/production");
    assertDeclined(toProduction);
    assert.ok(hasDiagnostic(toProduction.stderr, badMailWhere, "MANIFEST_SCHEMA"), toProduction.stderr);
    assert.equal(serverRef(s.bare, "refs/heads/production"), undefined);
  });

  test("a push to main is rejected when steward cannot be run", () => {
    const s = server();
    git(s.bare, "config", "steward.bin", join(root, "no-such-steward"));
    commitFile(s.client, MAIL, mailText.replace("quota: 20G", "quota: 21G"), "valid");
    const r = push(s.client, "origin", "main");
    assertDeclined(r);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
    assertHookTmpClean();
  });

  test("a pushed .gitattributes cannot hide a manifest from validation", () => {
    // `git archive` would leave export-ignore files out of the exported tree.
    const s = server();
    writeFileSync(join(s.client, ".gitattributes"), `${MAIL} export-ignore\n`);
    commitFile(s.client, MAIL, badMail, "hide the bad file");
    const r = push(s.client, "origin", "main");
    assertDeclined(r);
    assert.ok(hasDiagnostic(r.stderr, badMailWhere, "MANIFEST_SCHEMA"), r.stderr);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
  });
});

test("the hooks' manifest limit is the validator's", () => {
  for (const hook of ["pre-commit", "pre-receive"]) {
    assert.match(readFileSync(join(HOOKS, hook), "utf8"), new RegExp(`^manifest_limit=${MAX_MANIFEST_BYTES}$`, "m"), hook);
  }
});
