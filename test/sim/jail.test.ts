/**
 * jail(8) scenarios, written from what FreeBSD's usr.sbin/jail/tests/jail_basic_test.sh checks
 * (basic, commands, jid_name_set, param_consistency) and from jail(8)/jail.conf(5). They run
 * against the simulator, or the real jail(8) with STEWARD_SIM_REAL=1 (see harness.ts).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scenarios, type Host } from "./harness.js";

const USAGE =
  "usage: jail [-dhilqv] [-J jid_file] [-u username] [-U username]\n" +
  "            -[cmr] param=value ... [command=command ...]\n" +
  "       jail [-dqv] [-f file] -[cmr] [jail]\n" +
  "       jail [-qv] [-f file] -[rR] ['*' | jail ...]\n" +
  "       jail [-dhilqv] [-J jid_file] [-u username] [-U username]\n" +
  "            [-n jailname] [-s securelevel]\n" +
  "            path hostname [ip[,...]] command ...\n";

const WEB = `simweb {\n  path = "\${DIR}/simweb";\n  host.hostname = "simweb.home.arpa";\n  persist;\n}\n`;

function state(h: Host): { mounts: Array<{ fstype: string; node: string }>; ifaddrs: Array<{ iface: string; addr: string }> } {
  return JSON.parse(readFileSync(join(h.sim ?? "", "state.json"), "utf8"));
}

scenarios([
  {
    name: "a jail made from command-line parameters prints nothing, and jls finds it by name",
    jails: ["simbase"],
    steps: [
      { argv: ["jail", "-c", "name=simbase", "persist", "ip4.addr=192.0.2.1"] },
      { argv: ["jls", "-j", "simbase", "name", "ip4.addr", "persist"], stdout: "simbase 192.0.2.1 true\n" },
      { argv: ["jail", "-r", "simbase"] },
      { argv: ["jls", "-j", "simbase", "name"], code: 1, stderr: 'jls: jail "simbase" not found\n' },
    ],
  },
  {
    name: "a jail is removed by its jid as by its name",
    jails: ["simbase"],
    steps: [
      { argv: ["jail", "-c", "name=simbase", "persist", "ip4.addr=192.0.2.1"] },
      { argv: ["jls", "-j", "simbase", "jid"], stdout: /^[0-9]+\n$/, capture: "jid" },
      { argv: ["jail", "-r", "${jid}"] },
      { argv: ["jls", "-j", "${jid}", "jid"], code: 1, stderr: "jls: jail ${jid} not found\n" },
    ],
  },
  {
    name: "jail -cm creates a missing jail and leaves a running one its jid; jail -rc gives it a new one",
    jails: ["simbase"],
    steps: [
      { argv: ["jail", "-cm", "name=simbase", "persist", "ip4.addr=192.0.2.1"] },
      { argv: ["jls", "-j", "simbase", "jid"], capture: "jid", stdout: null },
      { argv: ["jail", "-cm", "name=simbase", "persist", "ip4.addr=192.0.2.1"] },
      { argv: ["jls", "-j", "simbase", "jid"], stdout: "${jid}\n" },
      { argv: ["jail", "-rc", "name=simbase", "persist", "ip4.addr=192.0.2.1"] },
      { argv: ["jls", "-j", "simbase", "jid"], capture: "jid2", stdout: null },
      { check: (h) => assert.notEqual(h.vars.get("jid2"), h.vars.get("jid"), "jail -rc keeps the jid") },
      { argv: ["jail", "-r", "simbase"] },
    ],
  },
  {
    name: 'creating a jail that exists fails with jail: "NAME" already exists',
    jails: ["simbase"],
    steps: [
      { argv: ["jail", "-c", "name=simbase", "persist"] },
      { argv: ["jail", "-c", "name=simbase", "persist"], code: 1, stderr: 'jail: "simbase" already exists\n' },
      { argv: ["jail", "-r", "simbase"] },
    ],
  },
  {
    name: 'removing a jail that is not running fails with jail: "NAME" not found',
    steps: [
      { argv: ["jail", "-r", "simnone"], code: 1, stderr: 'jail: "simnone" not found\n' },
      { argv: ["jail", "-R", "simnone"], code: 1, stderr: 'jail: "simnone" not found\n' },
    ],
  },
  {
    name: "a jail defined in a file reports NAME: created and NAME: removed; -q silences both",
    jails: ["simweb"],
    dirs: ["simweb"],
    files: { "web.conf": WEB },
    steps: [
      { argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], stdout: "simweb: created\n" },
      { argv: ["jls", "-j", "simweb", "host.hostname", "path"], stdout: "simweb.home.arpa ${DIR}/simweb\n" },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], code: 1, stderr: 'jail: "simweb" already exists\n' },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-r", "simweb"], stdout: "simweb: removed\n" },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-r", "simweb"], code: 1, stderr: 'jail: "simweb" not found\n' },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-qc", "simweb"] },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-qr", "simweb"] },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-qr", "simweb"], code: 1 },
    ],
  },
  {
    name: "a jail the file does not define is named on the command line: jail -f FILE -c NAME fails",
    files: { "web.conf": WEB },
    steps: [{ argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simother"], code: 1, stderr: 'jail: "simother" not found\n' }],
  },
  {
    name: "exec.prestart and exec.prestop run on the host, given globally after the jail (commands.jail.conf)",
    jails: ["simcmd"],
    files: { "jail.conf": '\nexec.prestop = "echo STOP";\nexec.prestart = "echo START";\npersist;\n\nsimcmd {}\npath = "${DIR}";\n' },
    steps: [
      { argv: ["jail", "-f", "${DIR}/jail.conf", "-qc", "simcmd"], stdout: "START\n" },
      { argv: ["jail", "-f", "${DIR}/jail.conf", "-qr", "simcmd"], stdout: "STOP\n" },
      { argv: ["jail", "-f", "${DIR}/jail.conf", "-qc", "simcmd"], stdout: "START\n" },
      { argv: ["jls", "-j", "simcmd", "jid"], capture: "jid", stdout: null },
      { argv: ["jail", "-f", "${DIR}/jail.conf", "-qr", "${jid}"], stdout: "STOP\n" },
    ],
  },
  {
    name: "exec.poststart sees JID, JNAME and JPATH, and exec.poststop still sees JID",
    simOnly: "JID/JNAME/JPATH in the exec.* environment are recent (usr.sbin/jail/tests, param_consistency); check the host's release",
    files: { "jail.conf": "simenv {\n  path = \"${DIR}\";\n  persist;\n  exec.poststart = 'echo JID=$JID JNAME=$JNAME JPATH=$JPATH';\n  exec.poststop = 'echo JID=$JID';\n}\n" },
    steps: [
      { argv: ["jail", "-f", "${DIR}/jail.conf", "-qc", "simenv"], stdout: /^JID=[0-9]+ JNAME=simenv JPATH=\/.*\n$/ },
      { argv: ["jls", "-j", "simenv", "jid"], capture: "jid", stdout: null },
      { argv: ["jail", "-f", "${DIR}/jail.conf", "-qr", "simenv"], stdout: "JID=${jid}\n" },
    ],
  },
  {
    name: "a section named by a number gives that jid, and the name it sets or the number (jid_name_set)",
    jails: ["simjid", "5309"],
    steps: [
      { write: "a.conf", text: "5309 { name = simjid; persist; }\n" },
      { argv: ["jail", "-f", "${DIR}/a.conf", "-c", "5309"], stdout: "5309: created\n" },
      { argv: ["jls", "-j", "5309", "name"], stdout: "simjid\n" },
      { argv: ["jail", "-f", "${DIR}/a.conf", "-r", "5309"], stdout: "5309: removed\n" },
      { write: "b.conf", text: '5309 { host.hostname = "${name}"; persist; }\n' },
      { argv: ["jail", "-f", "${DIR}/b.conf", "-c", "5309"], stdout: "5309: created\n" },
      { argv: ["jls", "-j", "5309", "host.hostname"], stdout: "5309\n" },
      { argv: ["jail", "-f", "${DIR}/b.conf", "-r", "5309"], stdout: "5309: removed\n" },
      { write: "c.conf", text: "simjid { jid = 5309; persist; }\n" },
      { argv: ["jail", "-f", "${DIR}/c.conf", "-c", "simjid"], stdout: "simjid: created\n" },
      { argv: ["jls", "-j", "simjid", "jid"], stdout: "5309\n" },
      { argv: ["jail", "-f", "${DIR}/c.conf", "-r", "simjid"], stdout: "simjid: removed\n" },
    ],
  },
  {
    name: "a command-line jail with exec.poststart and command runs both and is gone once the command ends (param_consistency)",
    steps: [
      { argv: ["jail", "-c", "path=/", "name=simcmdline", "exec.poststart=true", "command=/usr/bin/true"] },
      { argv: ["jls", "-j", "simcmdline", "jid"], code: 1, stderr: 'jls: jail "simcmdline" not found\n' },
    ],
  },
  {
    name: "a path that does not exist fails after exec.prestart: jail: NAME: path X: No such file or directory",
    files: { "jail.conf": 'simweb {\n  path = "${DIR}/nothere";\n  exec.prestart = "echo START";\n  persist;\n}\n' },
    steps: [
      { argv: ["jail", "-f", "${DIR}/jail.conf", "-c", "simweb"], code: 1, stdout: "START\n", stderr: "jail: simweb: path ${DIR}/nothere: No such file or directory\n" },
      { argv: ["jls", "-j", "simweb", "jid"], code: 1, stderr: 'jls: jail "simweb" not found\n' },
      { argv: ["jail", "-c", "name=simweb", "path=${DIR}/nothere", "persist"], code: 1, stderr: "jail: path ${DIR}/nothere: No such file or directory\n" },
    ],
  },
  {
    name: "a failing exec.start removes the jail again: created, the failure, removed",
    jails: ["simfail"],
    files: { "jail.conf": 'simfail {\n  path = "/";\n  exec.start = "/usr/bin/false";\n  persist;\n}\n' },
    steps: [
      { argv: ["jail", "-f", "${DIR}/jail.conf", "-c", "simfail"], code: 1, stdout: "simfail: created\nsimfail: removed\n", stderr: "jail: simfail: /usr/bin/false: failed\n" },
      { argv: ["jls", "-j", "simfail", "jid"], code: 1, stderr: 'jls: jail "simfail" not found\n' },
    ],
  },
  {
    name: "without persist, a jail whose exec.start leaves nothing running is gone right after creation",
    files: { "jail.conf": 'simgone {\n  path = "/";\n  exec.start = "/usr/bin/true";\n}\n' },
    steps: [
      { argv: ["jail", "-f", "${DIR}/jail.conf", "-c", "simgone"], stdout: "simgone: created\n" },
      { argv: ["jls", "-j", "simgone", "jid"], code: 1, stderr: 'jls: jail "simgone" not found\n' },
    ],
  },
  {
    name: "jail -m changes a running jail (NAME: updated) but refuses a create-only parameter",
    jails: ["simweb"],
    dirs: ["simweb", "other"],
    files: { "web.conf": WEB },
    steps: [
      { argv: ["jail", "-f", "${DIR}/web.conf", "-m", "simweb"], code: 1, stderr: 'jail: "simweb" not found\n' },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], stdout: "simweb: created\n" },
      { argv: ["jls", "-j", "simweb", "jid"], capture: "jid", stdout: null },
      { write: "web.conf", text: WEB.replace("simweb.home.arpa", "renamed.home.arpa") },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-m", "simweb"], stdout: "simweb: updated\n" },
      { argv: ["jls", "-j", "simweb", "jid", "host.hostname"], stdout: "${jid} renamed.home.arpa\n" },
      { write: "web.conf", text: WEB.replace("${DIR}/simweb", "${DIR}/other") },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-m", "simweb"], code: 1, stderr: "jail: simweb: path cannot be changed after creation\n" },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-cmr", "simweb"], stdout: "simweb: created\n" },
      { argv: ["jls", "-j", "simweb", "path"], stdout: "${DIR}/other\n" },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-r", "simweb"], stdout: "simweb: removed\n" },
    ],
  },
  {
    name: "jail -rc restarts a jail from its file and, as jail(8) does, reports only the creation",
    jails: ["simweb"],
    dirs: ["simweb"],
    files: { "web.conf": WEB },
    steps: [
      { argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], stdout: "simweb: created\n" },
      { argv: ["jls", "-j", "simweb", "jid"], capture: "jid", stdout: null },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-rc", "simweb"], stdout: "simweb: created\n" },
      { argv: ["jls", "-j", "simweb", "jid"], capture: "jid2", stdout: null },
      { check: (h) => assert.notEqual(h.vars.get("jid2"), h.vars.get("jid")) },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-r", "simweb"], stdout: "simweb: removed\n" },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-rc", "simweb"], code: 1, stderr: 'jail: "simweb" not found\n' },
    ],
  },
  {
    name: "jail -R removes a jail without its file's stop commands; jail -f FILE -r NAME of a jail the file lacks says removed",
    jails: ["simweb", "simcli"],
    dirs: ["simweb"],
    files: { "web.conf": WEB.replace("persist;", 'persist;\n  exec.prestop = "echo STOP";') },
    steps: [
      { argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], stdout: "simweb: created\n" },
      { argv: ["jail", "-R", "simweb"] },
      { argv: ["jls", "-j", "simweb", "jid"], code: 1, stderr: 'jls: jail "simweb" not found\n' },
      { argv: ["jail", "-c", "name=simcli", "persist"] },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-r", "simcli"], stdout: "simcli: removed\n" },
    ],
  },
  {
    name: "jail -i prints the new jid alone",
    jails: ["simweb"],
    dirs: ["simweb"],
    files: { "web.conf": WEB },
    steps: [
      { argv: ["jail", "-i", "-f", "${DIR}/web.conf", "-c", "simweb"], stdout: /^[0-9]+\n$/, capture: "jid" },
      { argv: ["jls", "-j", "simweb", "jid"], stdout: "${jid}\n" },
      { argv: ["jail", "-q", "-f", "${DIR}/web.conf", "-r", "simweb"] },
    ],
  },
  {
    name: "jail -v reports the jail_set call and each step",
    jails: ["simv"],
    dirs: ["simv"],
    files: { "v.conf": 'simv {\n  path = "${DIR}/simv";\n  persist;\n  exec.prestart = "echo hi";\n}\n' },
    steps: [
      { argv: ["jail", "-v", "-f", "${DIR}/v.conf", "-c", "simv"], stdout: "simv: run command: echo hi\nhi\nsimv: jail_set(JAIL_CREATE) name=simv path=${DIR}/simv persist\nsimv: created\n" },
      { argv: ["jail", "-q", "-f", "${DIR}/v.conf", "-r", "simv"] },
    ],
  },
  {
    name: "jail.conf strings: variables in bare and double-quoted strings, none in single quotes; wildcards; += lists; all three comments",
    jails: ["simweb"],
    dirs: ["simweb"],
    files: {
      "web.conf":
        "# shell comment\n$base = \"${DIR}\"; // C++ comment\n* { exec.prestart = \"echo wild $name\"; }\n/* C comment\n over lines */\nsimweb {\n  path = $base/$name;\n  host.hostname = '$name.example';\n  ip4.addr = 192.0.2.10;\n  ip4.addr += 192.0.2.11;\n  persist;\n}\n",
    },
    steps: [
      { argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], stdout: "wild simweb\nsimweb: created\n" },
      { argv: ["jls", "-j", "simweb", "path", "host.hostname", "ip4.addr"], stdout: "${DIR}/simweb $name.example 192.0.2.10,192.0.2.11\n" },
      { argv: ["jail", "-q", "-f", "${DIR}/web.conf", "-r", "simweb"] },
    ],
  },
  {
    name: "depend starts the jail depended on first and stops it last",
    jails: ["simapp", "simdb"],
    dirs: ["simapp", "simdb"],
    files: { "deps.conf": 'path = "${DIR}/$name";\npersist;\nsimdb { }\nsimapp { depend = simdb; }\n' },
    steps: [
      { argv: ["jail", "-f", "${DIR}/deps.conf", "-c", "simapp"], stdout: "simdb: created\nsimapp: created\n" },
      { argv: ["jail", "-f", "${DIR}/deps.conf", "-r", "simdb"], stdout: "simapp: removed\nsimdb: removed\n" },
    ],
  },
  {
    name: "configuration mistakes name the file and line, the jail and the parameter",
    files: {
      "syntax.conf": "simweb {\n  path = /x\n}\n",
      "unknown.conf": 'simweb {\n  path = "${DIR}";\n  persist;\n  nosuch.param = 1;\n}\n',
      "var.conf": 'simweb {\n  path = "$nothere/x";\n  persist;\n}\n',
      "int.conf": 'simweb {\n  path = "${DIR}";\n  persist;\n  securelevel = high;\n}\n',
      "bool.conf": 'simweb {\n  path = "${DIR}";\n  persist = maybe;\n}\n',
      "ip.conf": 'simweb {\n  path = "${DIR}";\n  persist;\n  ip4.addr = 10.0.0.300;\n}\n',
    },
    steps: [
      { argv: ["jail", "-f", "${DIR}/syntax.conf", "-c", "simweb"], code: 1, stderr: "jail: ${DIR}/syntax.conf line 3: }: syntax error\n" },
      { argv: ["jail", "-f", "${DIR}/unknown.conf", "-c", "simweb"], code: 1, stderr: "jail: simweb: unknown parameter: nosuch.param\n" },
      { argv: ["jail", "-f", "${DIR}/var.conf", "-c", "simweb"], code: 1, stderr: 'jail: simweb: path: variable "nothere" not found\n' },
      { argv: ["jail", "-f", "${DIR}/int.conf", "-c", "simweb"], code: 1, stderr: 'jail: simweb: securelevel: non-integer value "high"\n' },
      { argv: ["jail", "-f", "${DIR}/bool.conf", "-c", "simweb"], code: 1, stderr: 'jail: simweb: persist: unknown boolean value "maybe"\n' },
      { argv: ["jail", "-f", "${DIR}/ip.conf", "-c", "simweb"], code: 1, stderr: "jail: simweb: ip4.addr: not an IPv4 address: 10.0.0.300\n" },
      { argv: ["jail", "-f", "${DIR}/none.conf", "-c", "simweb"], code: 1, stderr: "jail: ${DIR}/none.conf: No such file or directory\n" },
      { argv: ["jail", "-c", "name=simweb", "persist", "allow.nosuch"], code: 1, stderr: "jail: unknown parameter: allow.nosuch\n" },
    ],
  },
  {
    name: "usage errors print the usage and exit 1",
    steps: [
      { argv: ["jail"], code: 1, stderr: USAGE },
      { argv: ["jail", "-z"], code: 1, stderr: `jail: illegal option -- z\n${USAGE}` },
      { argv: ["jail", "-f"], code: 1, stderr: `jail: option requires an argument -- f\n${USAGE}` },
      { argv: ["jail", "-r"], code: 1, stderr: USAGE },
      { argv: ["jail", "-r", "name=simweb"], code: 1, stderr: USAGE },
      { argv: ["jail", "-R", "-c", "simweb"], code: 1, stderr: USAGE },
    ],
  },
  {
    name: "mounts and interface aliases are recorded while the jail runs and undone when it stops",
    simOnly: "inspects the simulator's state file",
    dirs: ["simweb/dev"],
    files: { "web.conf": WEB.replace("persist;", 'persist;\n  mount.devfs;\n  ip4.addr = "lo1|192.0.2.5/32";') },
    steps: [
      { argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], stdout: "simweb: created\n" },
      {
        check: (h) => {
          const s = state(h);
          assert.deepEqual(s.mounts.map((m) => [m.fstype, m.node]), [["devfs", `${h.dir}/simweb/dev`]]);
          assert.deepEqual(s.ifaddrs.map((a) => [a.iface, a.addr]), [["lo1", "192.0.2.5"]]);
        },
      },
      { argv: ["jls", "-j", "simweb", "ip4.addr"], stdout: "192.0.2.5\n" },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-r", "simweb"], stdout: "simweb: removed\n" },
      {
        check: (h) => {
          const s = state(h);
          assert.deepEqual(s.mounts, []);
          assert.deepEqual(s.ifaddrs, []);
        },
      },
    ],
  },
  {
    name: "mount.devfs needs the jail's dev directory",
    simOnly: "a real jail root always has dev/",
    dirs: ["simweb"],
    files: { "web.conf": WEB.replace("persist;", "persist;\n  mount.devfs;") },
    steps: [{ argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], code: 1, stderr: "jail: simweb: mount.devfs: ${DIR}/simweb/dev: No such file or directory\n" }],
  },
  {
    name: "a jail created inside a jail is refused (the simulator gives jails no children)",
    simOnly: "nested jails need children.max on a real host",
    steps: [
      { argv: ["jail", "-c", "name=simparent", "path=/", "persist"] },
      { argv: ["jexec", "simparent", "jail", "-c", "name=simchild", "persist"], code: 1, stderr: "jail: jail_set: Operation not permitted\n" },
      { argv: ["jexec", "simparent", "jls", "-j", "simparent", "jid"], code: 1, stderr: 'jls: jail "simparent" not found\n' },
    ],
  },
]);
