/**
 * Scenarios for the FreeBSD tool simulator: each is a list of command lines run by name through
 * PATH, with the exact stdout, stderr and exit status expected. On Linux PATH starts with
 * build/sim/bin and STEWARD_SIM_ROOT is a fresh directory per scenario. With STEWARD_SIM_REAL=1
 * (as root on a FreeBSD 14 host) the same scenarios run against /usr/sbin/jail and the other
 * real tools; scenarios that depend on the simulator itself (its state directory, fault
 * injection, its package catalogue) are skipped there with the reason given.
 *
 * Placeholders in arguments and expectations: ${DIR} (the scenario's scratch directory),
 * ${HOSTNAME} (the host's name), and any name a step captured with `capture` (its trimmed
 * stdout, e.g. ${jid}).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/** The repository root (this file is compiled to build/test/sim/harness.js). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const SIM_BIN = join(REPO_ROOT, "build/sim/bin");
export const REAL = process.env.STEWARD_SIM_REAL === "1";

export interface Host {
  /** Scratch directory for jail roots and configuration files. */
  readonly dir: string;
  /** $STEWARD_SIM_ROOT (undefined against the real tools). */
  readonly sim: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly vars: Map<string, string>;
}

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** newHost makes an empty simulated host (or, in real mode, a scratch directory on the FreeBSD host). */
export function newHost(): Host {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "steward-sim-")));
  const sim = REAL ? undefined : join(dir, "sim");
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.STEWARD_SIM_FAULTS;
  delete env.STEWARD_SIM_JAIL;
  if (sim !== undefined) {
    env.STEWARD_SIM_ROOT = sim;
    env.PATH = `${SIM_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`;
  }
  const vars = new Map([
    ["DIR", dir],
    ["HOSTNAME", hostname()],
    ["SIM", sim ?? ""],
  ]);
  return { dir, sim, env, vars };
}

export function subst(h: Host, s: string): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, k: string) => h.vars.get(k) ?? m);
}

/** run runs argv (argv[0] found through PATH) and returns what it did. */
export function run(h: Host, argv: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Result {
  const [file, ...args] = argv.map((a) => subst(h, a));
  const r = spawnSync(file ?? "true", args, {
    cwd: opts.cwd ?? h.dir,
    env: { ...h.env, ...Object.fromEntries(Object.entries(opts.env ?? {}).map(([k, v]) => [k, v === undefined ? v : subst(h, v)])) },
    input: opts.input ?? "",
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.error !== undefined) throw r.error;
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** write creates a file under the scratch directory (path relative to it), with its directories. */
export function write(h: Host, path: string, text: string): string {
  const p = join(h.dir, subst(h, path));
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, subst(h, text));
  return p;
}

export type Step = CommandStep | { readonly write: string; readonly text: string } | { readonly check: (h: Host) => void };

export interface CommandStep {
  readonly argv: readonly string[];
  /** Expected exit status (default 0). */
  readonly code?: number;
  /** Expected stdout exactly (or computed from the captures), or a pattern; undefined: must be empty; null: not checked. */
  readonly stdout?: Expected;
  readonly stderr?: Expected;
  /** Store the trimmed stdout as ${name} for later steps. */
  readonly capture?: string;
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export type Expected = string | RegExp | null | ((h: Host) => string);

export interface Scenario {
  readonly name: string;
  /** Why the scenario cannot run against the real tools; undefined: it can. */
  readonly simOnly?: string;
  /** Files to create first: scratch-relative path → content. */
  readonly files?: Readonly<Record<string, string>>;
  /** Directories to create first (jail roots). */
  readonly dirs?: readonly string[];
  readonly steps: readonly Step[];
  /** Jail names to remove afterwards on a real host (jail -R). */
  readonly jails?: readonly string[];
}

function check(h: Host, what: string, actual: string, expected: Expected | undefined, where: string): void {
  if (expected === null) return;
  if (typeof expected === "function") {
    assert.equal(actual, expected(h), `${where}: ${what}`);
    return;
  }
  if (expected === undefined) {
    assert.equal(actual, "", `${where}: ${what} should be empty`);
    return;
  }
  if (expected instanceof RegExp) {
    assert.match(actual, expected, `${where}: ${what}`);
    return;
  }
  assert.equal(actual, subst(h, expected), `${where}: ${what}`);
}

/** runScenario performs the steps and asserts each one's exit status and output. */
export function runScenario(s: Scenario): Host {
  const h = newHost();
  try {
    for (const d of s.dirs ?? []) mkdirSync(join(h.dir, subst(h, d)), { recursive: true });
    for (const [p, t] of Object.entries(s.files ?? {})) write(h, p, t);
    s.steps.forEach((step, i) => {
      if ("write" in step) {
        write(h, step.write, step.text);
        return;
      }
      if ("check" in step) {
        step.check(h);
        return;
      }
      const r = run(h, step.argv, { ...(step.input !== undefined ? { input: step.input } : {}), ...(step.env !== undefined ? { env: step.env } : {}) });
      const where = `step ${i + 1} (${step.argv.map((a) => subst(h, a)).join(" ")})`;
      check(h, "stdout", r.stdout, step.stdout, where);
      check(h, "stderr", r.stderr, step.stderr, where);
      assert.equal(r.code, step.code ?? 0, `${where}: exit status (stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)})`);
      if (step.capture !== undefined) h.vars.set(step.capture, r.stdout.trim());
    });
  } finally {
    if (REAL) for (const j of s.jails ?? []) run(h, ["jail", "-R", j]);
    rmSync(h.dir, { recursive: true, force: true });
  }
  return h;
}

/** scenarios registers one test per scenario; sim-only ones are skipped against the real tools. */
export function scenarios(list: readonly Scenario[]): void {
  for (const s of list) {
    if (REAL && s.simOnly !== undefined) test(s.name, { skip: `simulator only: ${s.simOnly}` }, () => undefined);
    else test(s.name, () => void runScenario(s));
  }
}
