/**
 * Fault injection ($STEWARD_SIM_ROOT/faults.json, or STEWARD_SIM_FAULTS): each fault makes a
 * tool fail the way the real one does when that step fails.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scenarios, type Host } from "./harness.js";

const sim = "simulator fault injection";
const jail = { argv: ["jail", "-c", "name=simweb", "path=${DIR}/simweb", "host.hostname=simweb.home.arpa", "persist"] };

scenarios([
  {
    name: "pkgInstallFail: pkg install stops at that package with PRE-INSTALL script failed, exit 3",
    simOnly: sim,
    dirs: ["simweb"],
    files: { "sim/faults.json": '{"pkgInstallFail": ["simweb:nginx"]}' },
    steps: [
      jail,
      { argv: ["pkg", "-j", "simweb", "install", "-qy", "nginx"], code: 3, stderr: "pkg: PRE-INSTALL script failed\n" },
      { argv: ["pkg", "-j", "simweb", "info", "-e", "nginx"], code: 1 },
      { argv: ["pkg", "-r", "${DIR}/simweb", "install", "-qy", "postfix"] },
    ],
  },
  {
    name: "serviceStartFail: the service prints Starting, then rc.subr's warning, exit 1, and is not running",
    simOnly: sim,
    dirs: ["simweb"],
    files: { "sim/faults.json": '{"serviceStartFail": ["nginx"]}' },
    steps: [
      jail,
      { argv: ["pkg", "-j", "simweb", "install", "-qy", "nginx"] },
      { argv: ["service", "-j", "simweb", "nginx", "onestart"], code: 1, stdout: "Starting nginx.\n", stderr: "/usr/local/etc/rc.d/nginx: WARNING: failed to start nginx\n" },
      { argv: ["service", "-j", "simweb", "nginx", "onestatus"], code: 1, stdout: "nginx is not running.\n" },
    ],
  },
  {
    name: "serviceStopFail (from STEWARD_SIM_FAULTS): the kill fails, exit 1, the daemon keeps running",
    simOnly: sim,
    dirs: ["simweb"],
    steps: [
      jail,
      { argv: ["pkg", "-j", "simweb", "install", "-qy", "nginx"] },
      { argv: ["service", "-j", "simweb", "nginx", "onestart"], stdout: "Starting nginx.\n" },
      { argv: ["service", "-j", "simweb", "nginx", "onestop"], env: { STEWARD_SIM_FAULTS: '{"serviceStopFail": ["simweb:nginx"]}' }, code: 1, stdout: "Stopping nginx.\n", stderr: /^kill: [0-9]+: Operation not permitted\n$/ },
      { argv: ["service", "-j", "simweb", "nginx", "onestatus"], stdout: /^nginx is running as pid [0-9]+\.\n$/ },
    ],
  },
  {
    name: "execFail: jail -c fails in exec.start, undoes the creation, exit 1",
    simOnly: sim,
    dirs: ["simweb"],
    files: {
      "sim/faults.json": '{"execFail": ["simweb:exec.start"]}',
      "web.conf": 'simweb {\n  path = "${DIR}/simweb";\n  exec.start = "/bin/sh /etc/rc";\n  persist;\n}\n',
    },
    steps: [
      { argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], code: 1, stdout: "simweb: created\nsimweb: removed\n", stderr: "jail: simweb: /bin/sh /etc/rc: failed\n" },
      { argv: ["jls", "-j", "simweb", "jid"], code: 1, stderr: 'jls: jail "simweb" not found\n' },
    ],
  },
  {
    name: "jailCreateFail: jail_set(2) refuses the jail with the message given",
    simOnly: sim,
    dirs: ["simweb"],
    files: { "sim/faults.json": '{"jailCreateFail": {"simweb": "jail_set: Cannot allocate memory"}}', "web.conf": 'simweb {\n  path = "${DIR}/simweb";\n  persist;\n}\n' },
    steps: [{ argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], code: 1, stderr: "jail: simweb: jail_set: Cannot allocate memory\n" }],
  },
  {
    name: "hang: the command records itself in hung.jsonl, then waits hangMs before it runs",
    simOnly: sim,
    dirs: ["simweb"],
    files: { "sim/faults.json": '{"hang": ["simweb:echo"], "hangMs": 400}' },
    steps: [
      jail,
      { argv: ["jexec", "simweb", "echo", "late"], stdout: "late\n" },
      { argv: ["jexec", "simweb", "true"] },
      {
        check: (h: Host) => {
          const lines = (file: string): Record<string, unknown>[] => readFileSync(join(h.sim ?? "", file), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
          const hung = lines("hung.jsonl");
          assert.deepEqual(hung.map((l) => [l["jail"], l["item"], l["argv"]]), [["simweb", "echo", ["echo", "late"]]]);
          const ended = lines("calls.jsonl").find((l) => l["tool"] === "jexec");
          assert.ok(Date.parse(String(ended?.["time"])) - Date.parse(String(hung[0]?.["time"])) >= 350, "it waited before running");
        },
      },
    ],
  },
  {
    name: "a malformed fault file is a loud configuration error",
    simOnly: sim,
    files: { "sim/faults.json": '{"pkgInstalFail": ["nginx"]}' },
    steps: [{ argv: ["pkg", "-r", "${DIR}", "install", "-y", "nginx"], code: 78, stderr: /^pkg: .*faults.json: unknown fault "pkgInstalFail"\n$/ }],
  },
]);
