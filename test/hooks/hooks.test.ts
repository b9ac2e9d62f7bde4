/**
 * The git hooks in hooks/, run by real git: `git commit` in a client repo with the pre-commit
 * hook, and `git push` into a real bare repo holding pre-receive and post-receive. The hooks
 * find the built CLI through a `steward` wrapper script (on PATH for the client, through
 * `git config steward.bin` for the server). Commits pushed to the server are signed by native
 * git with ssh-keygen keys (gpg.format=ssh), as an admin's are. Assertions are on exit codes,
 * refs and the codes, commits and positions in the output; prose only where the defect was
 * prose (a rejected push that said "valid").
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { MAX_MANIFEST_BYTES } from "../../agent/src/manifest/yaml.js";
import { CLI_MAIN, REPO_ROOT } from "../helpers/cli.js";
import { allowedSigners, makeKey, type SshKey } from "../helpers/keys.js";

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

/** The admin whose key the nodes (and the server's steward.trust) bootstrap with; a second admin; a stranger. */
const admin = makeKey(join(root, "keys"), "admin");
const admin2 = makeKey(join(root, "keys"), "admin2");
const intruder = makeKey(join(root, "keys"), "intruder");
const trustOf = (...keys: SshKey[]): string => allowedSigners(keys.map((key) => ({ principal: `${key.name}@cluster`, key })));
/** The server's bootstrap trust file (git config steward.trust). */
const bootstrapTrust = join(root, "bootstrap_allowed_signers");
writeFileSync(bootstrapTrust, trustOf(admin));
const TRUST = "trust/allowed_signers";

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

  test("a commit git will not sign with SSH is warned about, with the settings that fix it, and still made", () => {
    const dir = clientRepo();
    git(dir, "add", "-A");
    const r = commit(dir, "-m", "unsigned");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^steward-pre-commit: warning: .*commit\.gpgsign/m);
    assert.match(r.stderr, /^steward-pre-commit: warning: +git config commit\.gpgsign true$/m);
    assert.match(r.stderr, /^steward-pre-commit: warning: +git config gpg\.format ssh$/m);
    git(dir, "config", "commit.gpgsign", "true");
    const openpgp = commit(dir, "--allow-empty", "--no-gpg-sign", "-m", "gpg.format still openpgp");
    assert.equal(openpgp.code, 0, openpgp.stderr);
    assert.match(openpgp.stderr, /^steward-pre-commit: warning: gpg\.format is not set/m);
    assert.equal(git(dir, "rev-list", "--count", "HEAD"), "2");
  });

  test("no warning when every commit is signed with SSH", () => {
    const dir = clientRepo();
    signWith(dir, admin);
    git(dir, "add", "-A");
    const r = commit(dir, "-m", "signed");
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /warning/);
    assert.match(git(dir, "cat-file", "commit", "HEAD"), /^gpgsig -----BEGIN SSH SIGNATURE-----$/m);
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

/** Signing settings for a client: every commit signed with `key` (gpg.format=ssh), as hooks/README.md tells admins. */
function signWith(client: string, key: SshKey): void {
  git(client, "config", "gpg.format", "ssh");
  git(client, "config", "user.signingkey", key.private);
  git(client, "config", "commit.gpgsign", "true");
}

/** installHooks copies pre-receive and post-receive into a bare repo and configures them as hooks/README.md says. */
function installHooks(bare: string): void {
  for (const hook of ["pre-receive", "post-receive"]) {
    copyFileSync(join(HOOKS, hook), join(bare, "hooks", hook));
    chmodSync(join(bare, "hooks", hook), 0o755);
  }
  git(bare, "config", "steward.bin", wrapper);
  git(bare, "config", "steward.trust", bootstrapTrust);
}

/** removeHooks takes the server hooks out again: a server as it was before, which took anything. */
function removeHooks(bare: string): void {
  for (const hook of ["pre-receive", "post-receive"]) rmSync(join(bare, "hooks", hook), { force: true });
}

/** A client holding the template, trust/allowed_signers listing the admin, signing with the admin's key, nothing committed. */
function pusherRepo(): string {
  const client = freshDir("pusher");
  git(client, "init", "-q", "-b", "main");
  cpSync(TEMPLATE, client, { recursive: true });
  writeFileSync(join(client, TRUST), trustOf(admin));
  signWith(client, admin);
  return client;
}

/**
 * A bare repo with pre-receive and post-receive installed as hooks/README.md says, and a client
 * that pushed the template, signed by the admin, to main. The hooks are installed after that
 * first push unless `hookedFirstPush`, to keep the suite fast (each check starts node processes).
 */
function server(hookedFirstPush = false): Server {
  const bare = freshDir("server");
  git(bare, "init", "-q", "--bare", "-b", "main");
  if (hookedFirstPush) installHooks(bare);
  const client = pusherRepo();
  git(client, "add", "-A");
  git(client, "commit", "-q", "-m", "start from the template");
  git(client, "remote", "add", "origin", bare);
  const r = push(client, "origin", "main");
  assert.equal(r.code, 0, r.stderr);
  if (!hookedFirstPush) installHooks(bare);
  return { bare, client, first: git(client, "rev-parse", "HEAD") };
}

function push(client: string, ...args: string[]): Run {
  return run(client, ["push", "-q", ...args], serverEnv);
}

/** pushUnchecked pushes with the server's hooks taken out for the push: how a bad commit reached servers before this check. */
function pushUnchecked(s: Server, ...args: string[]): void {
  removeHooks(s.bare);
  const r = push(s.client, ...args);
  installHooks(s.bare);
  assert.equal(r.code, 0, r.stderr);
}

/** The commit a ref points at in the bare repo, or undefined when it does not exist. */
function serverRef(bare: string, ref: string): string | undefined {
  const r = run(bare, ["rev-parse", "--verify", "-q", ref], clientEnv);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** commitFile writes and commits one file, signed as the client is configured unless `sign` says otherwise. */
function commitFile(client: string, path: string, text: string, message: string, sign: "configured" | "unsigned" | SshKey = "configured"): string {
  writeFileSync(join(client, path), text);
  git(client, "add", "-A");
  const how = sign === "configured" ? [] : sign === "unsigned" ? ["-c", "commit.gpgsign=false"] : ["-c", `user.signingkey=${sign.private}`];
  git(client, ...how, "commit", "-q", "-m", message);
  return git(client, "rev-parse", "HEAD");
}

/** A valid edit of the mail service, different each time. */
let quota = 20;
function mailEdit(): string {
  return mailText.replace("quota: 20G", `quota: ${++quota}G`);
}

/**
 * assertDeclined checks that the push was refused, and that nothing the hook said claims
 * otherwise: no "valid" (the validator's summary), no account of a verification, no
 * "push accepted"; the hook's last word is "push rejected".
 */
function assertDeclined(r: Run): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /pre-receive hook declined/);
  assert.doesNotMatch(r.stderr, /\bvalid\b/, "a rejected push was called valid");
  assert.doesNotMatch(r.stderr, /verified the signature|push accepted/, "a rejected push was reported as checked and accepted");
  assert.match(r.stderr, /^remote: steward-pre-receive: push rejected/m);
}

/** assertAccepted checks that the push went through and that the hook said what it checked. */
function assertAccepted(r: Run, commits: number): void {
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^remote: steward-pre-receive: refs/heads/main: (?:.*; )?verified the signatures? and dates? of ${commits === 1 ? "(1 commit|[0-9a-f]{12})" : `${commits} commits`}`, "m"));
  assert.match(r.stderr, /^remote: steward-pre-receive: refs\/heads\/main: the tree of [0-9a-f]{40} validates/m);
  assert.match(r.stderr, /^remote: steward-pre-receive: refs\/heads\/main: its network policy keeps its promise/m);
  assert.match(r.stderr, /^remote: steward-pre-receive: refs\/heads\/main: push accepted/m);
}

/** hasProblem tells whether the pusher was shown verify-push's refusal with `code` naming `commit`. */
function hasProblem(output: string, code: string, commit: string): boolean {
  return new RegExp(`^remote: steward verify-push: ${code}: `, "m").test(output) && new RegExp(`^remote:\\s+commit: ${commit}\\b`, "m").test(output);
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
    assertAccepted(r, 1);
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

  test("a push whose network policy steward check refuses is rejected with its diagnostics", () => {
    const s = server();
    // A steward whose check finds a leak, as it would in a policy Steward compiled wrong; the
    // rest is the real one.
    const leaky = join(root, "bin", "steward-leaky");
    writeFileSync(leaky, `#!/bin/sh
if [ "$1" = check ]; then echo 'services/mail.yaml:15:10  POLICY_LEAK  mail reaches git on 22/tcp, which no route declares' >&2; exit 1; fi
exec ${shQuote(wrapper)} "$@"
`);
    chmodSync(leaky, 0o755);
    git(s.bare, "config", "steward.bin", leaky);
    commitFile(s.client, MAIL, mailEdit(), "more mail");
    const r = push(s.client, "origin", "main");
    assertDeclined(r);
    assert.ok(hasDiagnostic(r.stderr, "services/mail.yaml:15:10", "POLICY_LEAK"), r.stderr);
    assert.match(r.stderr, /its network policy lets through more or less than the manifest declares/);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
    git(s.bare, "config", "steward.bin", wrapper);
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

  test("a force-push that rewrites main's first commit is rejected", () => {
    const s = server();
    git(s.client, "commit", "-q", "--amend", "-m", "rewritten history");
    const rewritten = git(s.client, "rev-parse", "HEAD");
    assert.notEqual(rewritten, s.first);
    const r = push(s.client, "--force", "origin", "main");
    assertDeclined(r);
    assert.match(r.stderr, /SOURCE_ROLLBACK/);
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
    assert.match(r.stderr, /no-such-steward is not an executable file/);
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

describe("pre-receive: signatures, trust and rewrites, as the nodes judge them", () => {
  test("an unsigned commit pushed to main is refused with SOURCE_UNSIGNED naming it, before any node sees it", () => {
    const s = server();
    const unsigned = commitFile(s.client, MAIL, mailEdit(), "forgot to sign", "unsigned");
    const r = push(s.client, "origin", "main");
    assertDeclined(r);
    assert.ok(hasProblem(r.stderr, "SOURCE_UNSIGNED", unsigned), r.stderr);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
    assert.notEqual(run(s.bare, ["cat-file", "-e", unsigned], clientEnv).code, 0, "the quarantined commit was dropped");
    assertHookTmpClean();
  });

  test("an unsigned commit hidden below a signed tip is refused all the same", () => {
    const s = server();
    const unsigned = commitFile(s.client, MAIL, mailEdit(), "unsigned", "unsigned");
    commitFile(s.client, MAIL, mailEdit(), "signed on top");
    const r = push(s.client, "origin", "main");
    assertDeclined(r);
    assert.ok(hasProblem(r.stderr, "SOURCE_UNSIGNED", unsigned), r.stderr);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
  });

  test("a commit signed by a key the trust file does not list is refused with SOURCE_UNTRUSTED", () => {
    const s = server();
    const stranger = commitFile(s.client, MAIL, mailEdit(), "not an admin", intruder);
    const r = push(s.client, "origin", "main");
    assertDeclined(r);
    assert.ok(hasProblem(r.stderr, "SOURCE_UNTRUSTED", stranger), r.stderr);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
  });

  test("signed commits are accepted, each counted; the account says what was checked", () => {
    const s = server();
    commitFile(s.client, MAIL, mailEdit(), "one");
    const tip = commitFile(s.client, MAIL, mailEdit(), "two");
    const r = push(s.client, "origin", "main");
    assertAccepted(r, 2);
    assert.equal(serverRef(s.bare, "refs/heads/main"), tip);
  });

  for (const c of [
    { name: "loose objects (git unpacks a small push)", unpackLimit: undefined, kept: /^[0-9a-f]{2}$/m },
    { name: "a pack (receive.unpackLimit=1 keeps every push packed)", unpackLimit: "1", kept: /^pack-[0-9a-f]{40}\.pack$/m },
  ]) {
    test(`a push still in quarantine is read in full when git keeps it as ${c.name}`, () => {
      const s = server();
      if (c.unpackLimit !== undefined) git(s.bare, "config", "receive.unpackLimit", c.unpackLimit);
      // A steward that lists what the quarantine directory holds when verify-push runs.
      const listing = join(root, `quarantine-${counter}`);
      const listingSteward = join(root, `listing-steward-${counter}`);
      writeFileSync(listingSteward, `#!/bin/sh\nif [ "$1" = verify-push ]; then ls "$GIT_QUARANTINE_PATH" "$GIT_QUARANTINE_PATH/pack" > ${shQuote(listing)} 2>&1; fi\nexec ${shQuote(wrapper)} "$@"\n`);
      chmodSync(listingSteward, 0o755);
      git(s.bare, "config", "steward.bin", listingSteward);
      commitFile(s.client, TRUST, trustOf(admin, admin2), "trust admin2");
      const tip = commitFile(s.client, MAIL, mailEdit(), "by admin2", admin2);
      assertAccepted(push(s.client, "origin", "main"), 2);
      assert.match(readFileSync(listing, "utf8"), c.kept);
      assert.equal(serverRef(s.bare, "refs/heads/main"), tip);
      const unsigned = commitFile(s.client, MAIL, mailEdit(), "unsigned", "unsigned");
      const r = push(s.client, "origin", "main");
      assertDeclined(r);
      assert.ok(hasProblem(r.stderr, "SOURCE_UNSIGNED", unsigned), r.stderr);
    });
  }

  test("a trust change signed by a trusted key is accepted, and the new key may sign after it", () => {
    const s = server();
    commitFile(s.client, TRUST, trustOf(admin, admin2), "trust admin2");
    assertAccepted(push(s.client, "origin", "main"), 1);
    const byAdmin2 = commitFile(s.client, MAIL, mailEdit(), "first commit by admin2", admin2);
    assertAccepted(push(s.client, "origin", "main"), 1);
    assert.equal(serverRef(s.bare, "refs/heads/main"), byAdmin2);
  });

  test("a trust change that adds its own signer is refused: it is judged by the trust before it", () => {
    const s = server();
    const selfAuthorised = commitFile(s.client, TRUST, trustOf(admin, intruder), "trust me", intruder);
    const r = push(s.client, "origin", "main");
    assertDeclined(r);
    assert.ok(hasProblem(r.stderr, "SOURCE_UNTRUSTED", selfAuthorised), r.stderr);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
  });

  test("the documented recovery works: reset to the last good commit, commit signed, push --force", () => {
    // How the dead end arose: a server without this check took an unsigned commit, then a
    // signed one on top; nodes hold both (they verify every first-parent commit).
    const s = server();
    const good = s.first;
    commitFile(s.client, MAIL, mailEdit(), "unsigned, on the server", "unsigned");
    commitFile(s.client, MAIL, mailEdit(), "signed on top, still held");
    pushUnchecked(s, "origin", "main");

    git(s.client, "reset", "-q", "--hard", good);
    const fixed = commitFile(s.client, MAIL, mailEdit(), "the change again, signed");
    const r = push(s.client, "--force", "origin", "main");
    assertAccepted(r, 1);
    assert.match(r.stderr, /SOURCE_UNSIGNED/, "the account says why the dropped commits were never applied");
    assert.equal(serverRef(s.bare, "refs/heads/main"), fixed);
  });

  test("a force-push that drops a good signed commit is refused with the rollback message", () => {
    const s = server();
    const good = commitFile(s.client, MAIL, mailEdit(), "good and pushed");
    assertAccepted(push(s.client, "origin", "main"), 1);
    git(s.client, "reset", "-q", "--hard", s.first);
    commitFile(s.client, MAIL, mailEdit(), "rewrite");
    const r = push(s.client, "--force", "origin", "main");
    assertDeclined(r);
    assert.match(r.stderr, /^remote: steward verify-push: SOURCE_ROLLBACK: /m);
    assert.match(r.stderr, /is not a fast-forward of [0-9a-f]{40}; nodes never roll back, so neither does the server/);
    assert.equal(serverRef(s.bare, "refs/heads/main"), good);
  });

  test("a force-push that drops a good commit along with an unsigned one after it is refused", () => {
    const s = server();
    const good = commitFile(s.client, MAIL, mailEdit(), "good");
    commitFile(s.client, MAIL, mailEdit(), "unsigned after it", "unsigned");
    pushUnchecked(s, "origin", "main");
    const bad = git(s.client, "rev-parse", "HEAD");
    git(s.client, "reset", "-q", "--hard", s.first);
    commitFile(s.client, MAIL, mailEdit(), "drops the good commit too");
    const r = push(s.client, "--force", "origin", "main");
    assertDeclined(r);
    assert.match(r.stderr, /SOURCE_ROLLBACK/);
    assert.equal(serverRef(s.bare, "refs/heads/main"), bad);
    // Dropping only what the nodes refuse is the way out.
    git(s.client, "reset", "-q", "--hard", good);
    const fixed = commitFile(s.client, MAIL, mailEdit(), "keeps the good commit");
    assertAccepted(push(s.client, "--force", "origin", "main"), 1);
    assert.equal(serverRef(s.bare, "refs/heads/main"), fixed);
  });

  test("a rewrite that drops only what nodes refuse must still bring signed commits", () => {
    const s = server();
    commitFile(s.client, MAIL, mailEdit(), "unsigned", "unsigned");
    pushUnchecked(s, "origin", "main");
    const bad = git(s.client, "rev-parse", "HEAD");
    git(s.client, "reset", "-q", "--hard", s.first);
    const unsigned = commitFile(s.client, MAIL, mailEdit(), "unsigned again", "unsigned");
    const r = push(s.client, "--force", "origin", "main");
    assertDeclined(r);
    assert.ok(hasProblem(r.stderr, "SOURCE_UNSIGNED", unsigned), r.stderr);
    assert.doesNotMatch(r.stderr, /SOURCE_ROLLBACK/);
    assert.equal(serverRef(s.bare, "refs/heads/main"), bad);
  });

  test("receive.denyNonFastForwards would refuse the recovery: the hook says so instead of claiming success", () => {
    const s = server();
    git(s.bare, "config", "receive.denyNonFastForwards", "true");
    commitFile(s.client, MAIL, mailEdit(), "unsigned", "unsigned");
    pushUnchecked(s, "origin", "main");
    const bad = git(s.client, "rev-parse", "HEAD");
    git(s.client, "reset", "-q", "--hard", s.first);
    commitFile(s.client, MAIL, mailEdit(), "fixed");
    const r = push(s.client, "--force", "origin", "main");
    assertDeclined(r);
    assert.match(r.stderr, /git config --unset receive\.denyNonFastForwards/);
    assert.equal(serverRef(s.bare, "refs/heads/main"), bad);
  });

  test("the first push to an empty repo is judged by steward.trust, and refused while it is unset", () => {
    const bare = freshDir("server");
    git(bare, "init", "-q", "--bare", "-b", "main");
    installHooks(bare);
    git(bare, "config", "--unset", "steward.trust");
    const client = pusherRepo();
    const tip = commitFile(client, MAIL, mailText, "first");
    git(client, "remote", "add", "origin", bare);

    const unset = push(client, "origin", "main");
    assertDeclined(unset);
    assert.match(unset.stderr, /config steward\.trust \//);
    assert.equal(serverRef(bare, "refs/heads/main"), undefined);

    git(bare, "config", "steward.trust", bootstrapTrust);
    const stranger = commitFile(client, MAIL, mailEdit(), "signed by a key the bootstrap file does not list", intruder);
    const untrusted = push(client, "origin", "main");
    assertDeclined(untrusted);
    assert.ok(hasProblem(untrusted.stderr, "SOURCE_UNTRUSTED", stranger), untrusted.stderr);
    assert.equal(serverRef(bare, "refs/heads/main"), undefined);

    git(client, "reset", "-q", "--hard", tip);
    const r = push(client, "origin", "main");
    assertAccepted(r, 1);
    assert.equal(serverRef(bare, "refs/heads/main"), tip);
  });

  test("a push bringing an object nodes refuse to fetch (over 4 MiB) is refused, naming the file", () => {
    // Before: the server took it, and every node then held at it for good (SOURCE_PROTOCOL).
    const s = server();
    const big = commitFile(s.client, "files/mail/archive.bin", "x".repeat(5 * 1024 * 1024), "a big file in the repo");
    const r = push(s.client, "origin", "main");
    assertDeclined(r);
    assert.match(r.stderr, /SOURCE_PROTOCOL: blob [0-9a-f]{40} \(files\/mail\/archive\.bin\) is 5242880 bytes; nodes refuse any object over 4194304 bytes/);
    assert.equal(serverRef(s.bare, "refs/heads/main"), s.first);
    assert.notEqual(big, s.first);
  });

  test("a push rejected for its signatures or as a rewrite is never called valid", () => {
    // Before: the validator's `pushed: valid (…)` reached the pusher of a push then refused.
    const s = server();
    commitFile(s.client, MAIL, mailEdit(), "valid tree, unsigned", "unsigned");
    assertDeclined(push(s.client, "origin", "main"));
    git(s.client, "reset", "-q", "--hard", s.first);
    git(s.client, "commit", "-q", "--amend", "-m", "valid tree, rewritten root");
    assertDeclined(push(s.client, "--force", "origin", "main"));
  });
});

describe("pre-receive: status branches, written by each node's own key only", () => {
  const alphaKey = makeKey(join(root, "keys"), "alpha");
  const betaKey = makeKey(join(root, "keys"), "beta");
  const pub = (k: SshKey): string => readFileSync(`${k.private}.pub`, "utf8").trim();
  const asNode = (node: string): NodeJS.ProcessEnv => ({ ...serverEnv, STEWARD_PUSHER: `${node}@steward` });

  /** A server whose main names alpha's and beta's keys, and a node client with an empty status branch. */
  function statusServer(): Server & { node: string } {
    const s = server();
    const alphaYaml = readFileSync(join(TEMPLATE, "nodes/alpha.yaml"), "utf8");
    const betaYaml = readFileSync(join(TEMPLATE, "nodes/beta.yaml"), "utf8");
    writeFileSync(join(s.client, "nodes/beta.yaml"), `${betaYaml}key: ${pub(betaKey)}\n`);
    commitFile(s.client, "nodes/alpha.yaml", `${alphaYaml}key: ${pub(alphaKey)}\n`, "the nodes' keys");
    assertAccepted(push(s.client, "origin", "main"), 1);
    const node = freshDir("node");
    git(node, "init", "-q", "-b", "status/alpha");
    git(node, "remote", "add", "origin", s.bare);
    return { ...s, node };
  }

  /** report commits status/<name>.yaml (and `extra` files) in the node client, signed with `key`. */
  function report(dir: string, name: string, key: SshKey, text: string, extra: Record<string, string> = {}): string {
    mkdirSync(join(dir, "status"), { recursive: true });
    writeFileSync(join(dir, "status", `${name}.yaml`), text);
    for (const [path, body] of Object.entries(extra)) writeFileSync(join(dir, path), body);
    git(dir, "add", "-A");
    git(dir, "-c", "gpg.format=ssh", "-c", `user.signingkey=${key.private}`, "commit", "-q", "-S", "-m", `status ${name}`);
    return git(dir, "rev-parse", "HEAD");
  }

  test("a node pushes its own reports, signed by its key, with or without its observed state; the hook says what it checked", () => {
    const s = statusServer();
    report(s.node, "alpha", alphaKey, "node: alpha\n");
    const tip = report(s.node, "alpha", alphaKey, "node: alpha\nheartbeat: 2\n", { "status/alpha.observed.json": "{}\n" });
    const r = run(s.node, ["push", "-q", "origin", "status/alpha"], asNode("alpha"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^remote: steward-pre-receive: refs\/heads\/status\/alpha: 2 reports signed by alpha's key\s*$/m);
    assert.equal(serverRef(s.bare, "refs/heads/status/alpha"), tip);
    assertHookTmpClean();
  });

  test("a node's key cannot push another node's branch, main, or a tag", () => {
    const s = statusServer();
    report(s.node, "beta", alphaKey, "node: beta\n");
    const other = run(s.node, ["push", "-q", "origin", "HEAD:refs/heads/status/beta"], asNode("alpha"));
    assertDeclined(other);
    assert.match(other.stderr, /alpha@steward may push only status\/alpha/);
    assert.equal(serverRef(s.bare, "refs/heads/status/beta"), undefined);
    // A perfectly good admin commit, pushed with alpha's identity, is refused: nodes do not write main.
    commitFile(s.client, MAIL, mailEdit(), "an admin's change");
    const main = run(s.client, ["push", "-q", "origin", "main"], asNode("alpha"));
    assertDeclined(main);
    assert.match(main.stderr, /alpha@steward is a node's key: it may push refs\/heads\/status\/alpha only, not refs\/heads\/main/);
    git(s.client, "tag", "v1");
    assertDeclined(run(s.client, ["push", "-q", "origin", "v1"], asNode("alpha")));
  });

  test("reports not signed by the node's key are refused, whoever pushes them", () => {
    const s = statusServer();
    const forged = report(s.node, "alpha", admin, "node: alpha\n");
    for (const env of [asNode("alpha"), serverEnv]) {
      const r = run(s.node, ["push", "-q", "origin", "status/alpha"], env);
      assertDeclined(r);
      assert.match(r.stderr, new RegExp(`STATUS_UNVERIFIED: ${forged} is not signed by alpha's key`));
    }
    git(s.node, "reset", "-q", "--hard", "HEAD");
    git(s.node, "commit", "-q", "--amend", "--no-gpg-sign", "-m", "unsigned");
    assertDeclined(run(s.node, ["push", "-q", "origin", "status/alpha"], asNode("alpha")));
    assert.equal(serverRef(s.bare, "refs/heads/status/alpha"), undefined);
  });

  test("a status branch is never rewritten or deleted, and holds the report only", () => {
    const s = statusServer();
    const first = report(s.node, "alpha", alphaKey, "node: alpha\n");
    assert.equal(run(s.node, ["push", "-q", "origin", "status/alpha"], asNode("alpha")).code, 0);
    git(s.node, "reset", "-q", "--hard", first);
    git(s.node, "-c", "gpg.format=ssh", "-c", `user.signingkey=${alphaKey.private}`, "commit", "-q", "-S", "--amend", "-m", "rewritten");
    const rewrite = run(s.node, ["push", "-q", "--force", "origin", "status/alpha"], asNode("alpha"));
    assertDeclined(rewrite);
    assert.match(rewrite.stderr, /not a fast-forward/);
    const deletion = run(s.node, ["push", "-q", "origin", ":status/alpha"], serverEnv);
    assertDeclined(deletion);
    assert.match(deletion.stderr, /cannot be deleted/);
    git(s.node, "reset", "-q", "--hard", first);
    report(s.node, "alpha", alphaKey, "node: alpha\nheartbeat: 3\n", { "README.md": "hello\n" });
    const extra = run(s.node, ["push", "-q", "origin", "status/alpha"], asNode("alpha"));
    assertDeclined(extra);
    assert.match(extra.stderr, /holds more than status\/alpha\.yaml and status\/alpha\.observed\.json/);
    git(s.node, "reset", "-q", "--hard", first);
    report(s.node, "alpha", alphaKey, "node: alpha\nheartbeat: 4\n", { "status/beta.observed.json": "{}\n" });
    const other = run(s.node, ["push", "-q", "origin", "status/alpha"], asNode("alpha"));
    assertDeclined(other);
    assert.match(other.stderr, /holds more than status\/alpha\.yaml/, "another node's observed state is not alpha's to write");
    assert.equal(serverRef(s.bare, "refs/heads/status/alpha"), first);
  });
});

test("the hooks' manifest limit is the validator's", () => {
  for (const hook of ["pre-commit", "pre-receive"]) {
    assert.match(readFileSync(join(HOOKS, hook), "utf8"), new RegExp(`^manifest_limit=${MAX_MANIFEST_BYTES}$`, "m"), hook);
  }
});
