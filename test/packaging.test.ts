/**
 * What `npm pack` ships for a FreeBSD install, and the rc.d script's start and reload, run
 * against a stand-in for rc.subr(8) and daemon(8) that records what they were asked.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { REPO_ROOT } from "./helpers/cli.js";
import { makeTempDir, removeDir } from "./helpers/keys.js";

const RC = join(REPO_ROOT, "packaging/freebsd/rc.d/steward");
let dir: string;
before(() => (dir = makeTempDir()));
after(() => removeDir(dir));

test("npm pack ships the built agent, the hooks, the schemas, the docs and the FreeBSD files, and no tests", () => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const files = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path));
  for (const f of ["build/agent/src/cli/main.js", "build/agent/src/agent/agent.js", "hooks/pre-receive", "schema/README.md", "packaging/freebsd/rc.d/steward", "packaging/freebsd/newsyslog.conf.d/steward.conf", "cluster-repo-template/cluster.yaml", "README.md"]) {
    assert.ok(files.has(f), `${f} is not in the package`);
  }
  assert.ok(![...files].some((f) => f.startsWith("build/test/") || f.startsWith("build/sim/") || f.startsWith("test/")), "tests and the simulator stay out");
});

/** runRc runs the rc.d script with `arg`, rc.conf settings `conf`, a recording rc.subr and daemon, and a supervisor pid `running`. */
function runRc(arg: string, conf: string, running = ""): string {
  const log = join(dir, "calls");
  writeFileSync(log, "");
  const subr = join(dir, "rc.subr");
  // Just enough of rc.subr(8): settings from "rc.conf", rc_pid, and the method's command.
  writeFileSync(subr, `load_rc_config() { ${conf} ; }\nrun_rc_command() { rc_pid="${running}"; eval "cmd=\\\${$1_cmd}"; $cmd; }\n`);
  const daemon = join(dir, "daemon");
  writeFileSync(daemon, `#!/bin/sh\nprintf 'daemon %s\\n' "$*" >> ${log}\n`);
  chmodSync(daemon, 0o755);
  mkdirSync(join(dir, "run"), { recursive: true });
  const script = readFileSync(RC, "utf8").replace(". /etc/rc.subr", `. ${subr}`).replaceAll("/usr/sbin/daemon", daemon).replaceAll("/var/run/", `${dir}/run/`);
  writeFileSync(join(dir, "steward.rc"), script);
  const r = spawnSync("sh", [join(dir, "steward.rc"), arg], { encoding: "utf8" });
  if (r.status !== 0 && !r.stdout.includes("already running")) throw new Error(`rc.d ${arg} exited ${String(r.status)}: ${r.stderr}`);
  const stdout = r.stdout;
  return stdout + readFileSync(log, "utf8");
}

test("rc.d: the script parses with sh -n", () => {
  execFileSync("sh", ["-n", RC]);
});

test("rc.d start runs the agent under daemon(8): supervisor and child pidfiles, restart, the log, steward_flags to the agent", () => {
  const out = runRc("start", `steward_config=/etc/s.yaml; steward_flags="--once"`);
  assert.match(out, new RegExp(`^daemon -P ${dir}/run/steward.pid -p ${dir}/run/steward.child.pid -r -R 10 -H -o /var/log/steward.log -t steward /usr/local/bin/steward agent --config /etc/s.yaml --once$`, "m"));
  assert.match(runRc("start", ":", "4242"), /already running\? \(pid=4242\)/);
});

test("rc.d reload sends SIGHUP to the agent (not to daemon)", async () => {
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  writeFileSync(join(dir, "run", "steward.child.pid"), `${String(child.pid)}\n`);
  runRc("reload", ":");
  assert.equal(await ended, "SIGHUP");
});
