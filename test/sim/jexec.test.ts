/**
 * jexec(8) scenarios: the command's exit status is jexec's; jexec's own failures exit 1 with
 * `jexec: jail "x" not found` or `jexec: execvp: x: No such file or directory`; usage exits 1.
 */
import { scenarios } from "./harness.js";

const USAGE = "usage: jexec [-l] [-u username | -U username] jail [command ...]\n";

scenarios([
  {
    name: "jexec passes the command's exit status through",
    jails: ["simj"],
    steps: [
      { argv: ["jail", "-c", "name=simj", "path=/", "persist"] },
      { argv: ["jexec", "simj", "/usr/bin/true"] },
      { argv: ["jexec", "simj", "/usr/bin/false"], code: 1 },
      { argv: ["jexec", "simj", "/bin/sh", "-c", "exit 7"], code: 7 },
      { argv: ["jexec", "simj", "/bin/sh", "-c", "echo out; echo err >&2"], stdout: "out\n", stderr: "err\n" },
      { argv: ["jexec", "-l", "simj", "/bin/echo", "hello", "jail"], stdout: "hello jail\n" },
      { argv: ["jail", "-r", "simj"] },
    ],
  },
  {
    name: "a jail that is not running: jexec: jail \"x\" not found, exit 1",
    steps: [
      { argv: ["jexec", "simnone", "/usr/bin/true"], code: 1, stderr: 'jexec: jail "simnone" not found\n' },
      { argv: ["jexec", "999999", "/usr/bin/true"], code: 1, stderr: "jexec: jail 999999 not found\n" },
    ],
  },
  {
    name: "a command the jail does not have fails as execvp(3) does, exit 1",
    simOnly: "which commands exist depends on the jail's root; the simulator has only its own tools",
    jails: ["simj"],
    steps: [
      { argv: ["jail", "-c", "name=simj", "path=/", "persist"] },
      { argv: ["jexec", "simj", "/usr/local/bin/nosuch", "-x"], code: 1, stderr: "jexec: execvp: /usr/local/bin/nosuch: No such file or directory\n" },
      { argv: ["jexec", "simj", "ifconfig"], code: 1, stderr: "jexec: execvp: ifconfig: No such file or directory\n" },
      { argv: ["jail", "-r", "simj"] },
    ],
  },
  {
    name: "the simulated tools run inside the jail: env, sysrc and service see the jail's own files",
    simOnly: "uses the simulator's jail root layout",
    dirs: ["root/etc"],
    files: { "root/etc/rc.conf": 'sshd_enable="YES"\n' },
    steps: [
      { argv: ["jail", "-c", "name=simj", "path=${DIR}/root", "persist"] },
      { argv: ["jexec", "simj", "sysrc", "sshd_enable"], stdout: "sshd_enable: YES\n" },
      { argv: ["jexec", "simj", "env", "-i", "FOO=bar", "/usr/sbin/sysrc", "-n", "sshd_enable"], stdout: "YES\n" },
      { argv: ["jexec", "simj", "/bin/sh", "-c", "sysrc -n sshd_enable && service sshd status"], code: 1, stdout: "YES\nsshd is not running.\n" },
      { argv: ["jail", "-r", "simj"] },
    ],
  },
  {
    name: "usage errors exit 1",
    steps: [
      { argv: ["jexec"], code: 1, stderr: USAGE },
      { argv: ["jexec", "-u", "root", "-U", "root", "simj", "true"], code: 1, stderr: USAGE },
      { argv: ["jexec", "-z", "simj"], code: 1, stderr: `jexec: illegal option -- z\n${USAGE}` },
    ],
  },
]);
