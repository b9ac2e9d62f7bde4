/**
 * sysrc(8) scenarios. The -f ones check what FreeBSD's usr.sbin/sysrc/tests/sysrc_test.sh
 * checks (reading, setting, -x, +=, -=, several operations at once, -a, -c, -f order, -F),
 * rewritten here, plus the quoting sysrc keeps when it edits a line, -j and -R.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { scenarios, type Host } from "./harness.js";

const CONF = "${DIR}/sysrc_test.conf";
const file = (h: Host, name = "sysrc_test.conf"): string => readFileSync(join(h.dir, name), "utf8");
const fileIs = (text: string, name?: string) => ({ check: (h: Host) => assert.equal(file(h, name), text) });

scenarios([
  {
    name: "reading: name: value per variable; an unknown one is reported on stderr, exit 1, the others still printed",
    files: { "sysrc_test.conf": 'test_enable="NO"\ntest_list="item1 item2"\ntest2_list=""\n' },
    steps: [
      { argv: ["sysrc", "-f", CONF, "test_enable"], stdout: "test_enable: NO\n" },
      { argv: ["sysrc", "-f", CONF, "test2_list"], stdout: "test2_list: \n" },
      { argv: ["sysrc", "-f", CONF, "test_enable", "test_list"], stdout: "test_enable: NO\ntest_list: item1 item2\n" },
      { argv: ["sysrc", "-f", CONF, "noexist"], code: 1, stderr: "sysrc: unknown variable 'noexist'\n" },
      { argv: ["sysrc", "-f", CONF, "test_enable", "noexist"], code: 1, stdout: "test_enable: NO\n", stderr: "sysrc: unknown variable 'noexist'\n" },
      { argv: ["sysrc", "-f", CONF, "-n", "test_list"], stdout: "item1 item2\n" },
      { argv: ["sysrc", "-f", CONF, "-e", "test_list"], stdout: 'test_list="item1 item2"\n' },
      { argv: ["sysrc", "-f", CONF, "-N", "test_list"], stdout: "test_list\n" },
      { argv: ["sysrc", "-f", CONF, "-v", "test_enable"], stdout: "${DIR}/sysrc_test.conf: test_enable: NO\n" },
      { argv: ["sysrc", "-f", CONF, "-q", "noexist"], code: 1 },
    ],
  },
  {
    name: "setting: name: old -> new, the file gets name=\"value\"; a variable set nowhere shows an empty old value",
    steps: [
      { argv: ["sysrc", "-f", CONF, "test_enable=YES"], stdout: "test_enable:  -> YES\n" },
      fileIs('test_enable="YES"\n'),
      { argv: ["sysrc", "-f", CONF, "test_enable=YES"], stdout: "test_enable: YES -> YES\n" },
      fileIs('test_enable="YES"\n'),
      { argv: ["sysrc", "-f", CONF, "test_enable=NO"], stdout: "test_enable: YES -> NO\n" },
      fileIs('test_enable="NO"\n'),
      { argv: ["sysrc", "-f", CONF, "test2_enable="], stdout: "test2_enable:  -> \n" },
      fileIs('test_enable="NO"\ntest2_enable=""\n'),
      { argv: ["sysrc", "-f", CONF, "-n", "test_enable=YES"], stdout: "NO -> YES\n" },
      { argv: ["sysrc", "-f", CONF, "-e", "test_enable=NO"], stdout: 'test_enable="YES" # -> "NO"\n' },
    ],
  },
  {
    name: "a variable rc.conf's defaults set shows the default as the old value",
    steps: [
      { argv: ["sysrc", "-f", CONF, "sshd_enable"], stdout: "sshd_enable: NO\n" },
      { argv: ["sysrc", "-f", CONF, "sshd_enable=YES"], stdout: "sshd_enable: NO -> YES\n" },
      fileIs('sshd_enable="YES"\n'),
    ],
  },
  {
    name: "-x removes every assignment; an unknown variable is an error",
    files: { "sysrc_test.conf": 'test1_enable="YES"\ntest2_enable="NO"\ntest3_enable=""\n' },
    steps: [
      { argv: ["sysrc", "-f", CONF, "-x", "test1_enable"] },
      fileIs('test2_enable="NO"\ntest3_enable=""\n'),
      { argv: ["sysrc", "-f", CONF, "-x", "test2_enable", "test3_enable"] },
      fileIs(""),
      { argv: ["sysrc", "-f", CONF, "-x", "noexist"], code: 1, stderr: "sysrc: unknown variable 'noexist'\n" },
    ],
  },
  {
    name: "+= appends a word not yet in the list",
    steps: [
      { argv: ["sysrc", "-f", CONF, "test_list+=item1"], stdout: "test_list:  -> item1\n" },
      fileIs('test_list="item1"\n'),
      { argv: ["sysrc", "-f", CONF, "test_list+=item1"], stdout: "test_list: item1 -> item1\n" },
      fileIs('test_list="item1"\n'),
      { argv: ["sysrc", "-f", CONF, "test_list+=item2"], stdout: "test_list: item1 -> item1 item2\n" },
      fileIs('test_list="item1 item2"\n'),
    ],
  },
  {
    name: "-= removes a word; on a variable set nowhere it creates an empty one",
    files: { "sysrc_test.conf": 'test_list="item1 item2"\n' },
    steps: [
      { argv: ["sysrc", "-f", CONF, "test_list-=item2"], stdout: "test_list: item1 item2 -> item1\n" },
      fileIs('test_list="item1"\n'),
      { argv: ["sysrc", "-f", CONF, "test_list-=item1"], stdout: "test_list: item1 -> \n" },
      fileIs('test_list=""\n'),
      { argv: ["sysrc", "-f", CONF, "test_list-=item3"], stdout: "test_list:  -> \n" },
      { argv: ["sysrc", "-f", CONF, "test2_list-=item1"], stdout: "test2_list:  -> \n" },
      fileIs('test_list=""\ntest2_list=""\n'),
    ],
  },
  {
    name: "several operations in one call; one unknown name makes the status 1 and the rest still happen",
    steps: [
      { argv: ["sysrc", "-f", CONF, "test1_enable=YES", "test1_list+=item1"], stdout: "test1_enable:  -> YES\ntest1_list:  -> item1\n" },
      {
        argv: ["sysrc", "-f", CONF, "test1_enable", "test1_enable=NO", "noexist", "test2_enable=YES", "test1_list-=item1", "test2_list+=item3"],
        code: 1,
        stdout: "test1_enable: YES\ntest1_enable: YES -> NO\ntest2_enable:  -> YES\ntest1_list: item1 -> \ntest2_list:  -> item3\n",
        stderr: "sysrc: unknown variable 'noexist'\n",
      },
      fileIs('test1_enable="NO"\ntest1_list=""\ntest2_enable="YES"\ntest2_list="item3"\n'),
    ],
  },
  {
    name: "-a lists what the files set",
    files: { "sysrc_test.conf": 'test_enable="YES"\n', "sysrc2.conf": 'test_list="item1"\ntest_enable="NO"\n' },
    steps: [
      { argv: ["sysrc", "-f", CONF, "-a"], stdout: "test_enable: YES\n" },
      { argv: ["sysrc", "-f", "${DIR}/sysrc2.conf", "-f", CONF, "-a"], stdout: "test_enable: YES\ntest_list: item1\n" },
    ],
  },
  {
    name: "-c checks without changing: 0 when already so, 1 otherwise; unknown names are still reported",
    files: { "sysrc_test.conf": 'test_enable="NO"\ntest_list="item1 item2"\n' },
    steps: [
      { argv: ["sysrc", "-f", CONF, "-c", "test_enable"] },
      { argv: ["sysrc", "-f", CONF, "-c", "test_enable", "test_list"] },
      { argv: ["sysrc", "-f", CONF, "-c", "noexist"], code: 1, stderr: "sysrc: unknown variable 'noexist'\n" },
      { argv: ["sysrc", "-f", CONF, "-c", "noexist1", "noexist2"], code: 1, stderr: "sysrc: unknown variable 'noexist1'\nsysrc: unknown variable 'noexist2'\n" },
      { argv: ["sysrc", "-f", CONF, "-c", "test_enable=NO"] },
      { argv: ["sysrc", "-f", CONF, "-c", "test_enable=YES"], code: 1 },
      { argv: ["sysrc", "-f", CONF, "-c", "noexist=YES"], code: 1 },
      { argv: ["sysrc", "-f", CONF, "-c", "test_list+=item1"] },
      { argv: ["sysrc", "-f", CONF, "-c", "test_list+=item3"], code: 1 },
      { argv: ["sysrc", "-f", CONF, "-c", "noexist+=item1"], code: 1 },
      { argv: ["sysrc", "-f", CONF, "-c", "test_enable=NO", "test_list+=item1"] },
      { argv: ["sysrc", "-f", CONF, "-c", "test_enable=YES", "test_list+=item1"], code: 1 },
      { argv: ["sysrc", "-f", CONF, "-c", "test_list-=item3"] },
      { argv: ["sysrc", "-f", CONF, "-c", "test_list-=item1"], code: 1 },
      { argv: ["sysrc", "-f", CONF, "-c", "noexist-=item1"], code: 1 },
      fileIs('test_enable="NO"\ntest_list="item1 item2"\n'),
    ],
  },
  {
    name: "-f is repeatable, the last file wins, and a new variable goes to the first; -F names the file",
    files: { "sysrc2.conf": 'test_list="item1"\ntest_enable="NO"\n' },
    steps: [
      { argv: ["sysrc", "-f", CONF, "noexist"], code: 1, stderr: "sysrc: unknown variable 'noexist'\n" },
      { argv: ["sysrc", "-f", CONF, "test_enable=YES"], stdout: "test_enable:  -> YES\n" },
      { argv: ["sysrc", "-f", "${DIR}/sysrc2.conf", "-f", CONF, "test_enable"], stdout: "test_enable: YES\n" },
      { argv: ["sysrc", "-f", CONF, "-f", "${DIR}/sysrc2.conf", "test_enable"], stdout: "test_enable: NO\n" },
      { argv: ["sysrc", "-f", CONF, "-F", "test_enable"], stdout: "test_enable: ${DIR}/sysrc_test.conf\n" },
      { argv: ["sysrc", "-f", CONF, "-f", "${DIR}/sysrc2.conf", "-F", "test_enable", "test_list"], stdout: "test_enable: ${DIR}/sysrc2.conf\ntest_list: ${DIR}/sysrc2.conf\n" },
    ],
  },
  {
    name: "editing keeps the line's quoting and what follows it; a value sysrc cannot edit gets a new line",
    files: { "sysrc_test.conf": "a='x y' # keep\nb=plain\nc=\"1\" ; d=2\ne=$a\n" },
    steps: [
      { argv: ["sysrc", "-f", CONF, "a=z"], stdout: "a: x y -> z\n" },
      { argv: ["sysrc", "-f", CONF, "b=q"], stdout: "b: plain -> q\n" },
      { argv: ["sysrc", "-f", CONF, "c=3"], stdout: "c: 1 -> 3\n" },
      { argv: ["sysrc", "-f", CONF, "e=w"], stdout: "e: z -> w\n" },
      fileIs("a='z' # keep\nb=\"q\"\nc=\"3\" ; d=2\ne=$a\ne=\"w\"\n"),
    ],
  },
  {
    name: "-d describes a variable from the defaults file ($RC_DEFAULTS)",
    files: { "defaults.conf": 'test_enable="NO" # Test Description\n' },
    steps: [{ argv: ["sysrc", "-d", "test_enable"], env: { RC_DEFAULTS: "${DIR}/defaults.conf" }, stdout: "test_enable: Test Description\n" }],
  },
  {
    name: "without -f sysrc reads and edits the host's /etc/rc.conf",
    simOnly: "edits the host's /etc/rc.conf",
    steps: [
      { argv: ["sysrc", "jail_enable"], stdout: "jail_enable: NO\n" },
      { argv: ["sysrc", "jail_enable=YES"], stdout: "jail_enable: NO -> YES\n" },
      { argv: ["sysrc", "jail_list+=web"], stdout: "jail_list:  -> web\n" },
      { argv: ["sysrc", "jail_list+=db"], stdout: "jail_list: web -> web db\n" },
      { argv: ["sysrc", "-v", "jail_list"], stdout: "/etc/rc.conf: jail_list: web db\n" },
      { check: (h) => assert.equal(readFileSync(join(h.sim ?? "", "host/etc/rc.conf"), "utf8"), 'jail_enable="YES"\njail_list="web db"\n') },
    ],
  },
  {
    name: "-j works in a running jail's rc.conf, whose messages come from sh; -R in a directory; -j needs the jail to run",
    simOnly: "edits the jail root's etc/rc.conf directly",
    dirs: ["root/etc", "other/etc"],
    steps: [
      { argv: ["sysrc", "-j", "simj", "nginx_enable=YES"], code: 1, stderr: 'jexec: jail "simj" not found\n' },
      { argv: ["sysrc", "-f", "${DIR}/root/etc/rc.conf", "nginx_enable=YES"], stdout: "nginx_enable:  -> YES\n" },
      { argv: ["jail", "-c", "name=simj", "path=${DIR}/root", "persist"] },
      { argv: ["sysrc", "-j", "simj", "nginx_enable", "nosuch"], code: 1, stdout: "nginx_enable: YES\n", stderr: "sh: unknown variable 'nosuch'\n" },
      { argv: ["sysrc", "-j", "simj", "nginx_flags=-q"], stdout: "nginx_flags:  -> -q\n" },
      { check: (h) => assert.equal(file(h, "root/etc/rc.conf"), 'nginx_enable="YES"\nnginx_flags="-q"\n') },
      { argv: ["sysrc", "-R", "${DIR}/other", "cron_enable=NO"], stdout: "cron_enable: YES -> NO\n" },
      { check: (h) => assert.equal(file(h, "other/etc/rc.conf"), 'cron_enable="NO"\n') },
      { argv: ["sysrc", "-R", "${DIR}/root", "-n", "nginx_flags"], stdout: "-q\n" },
      { argv: ["jail", "-r", "simj"] },
    ],
  },
  {
    name: "usage: no arguments, a bad option, -h; --version prints and exits 1",
    steps: [
      { argv: ["sysrc"], code: 1, stderr: "Usage: sysrc [OPTIONS] name[[+|-]=value] ...\nTry `sysrc --help' for more information.\n" },
      { argv: ["sysrc", "-z", "x"], code: 1, stderr: "Illegal option -z\nUsage: sysrc [OPTIONS] name[[+|-]=value] ...\nTry `sysrc --help' for more information.\n" },
      { argv: ["sysrc", "-h"], code: 1, stderr: "Usage: sysrc [OPTIONS] name[[+|-]=value] ...\nTry `sysrc --help' for more information.\n" },
      { argv: ["sysrc", "-f", CONF, "-x", "-a"], code: 1, stderr: "sysrc: `-x' option incompatible with `-a'/`-A' options (use `-X' to override)\n" },
    ],
  },
]);
