/**
 * pkg(8) scenarios: global options before the command (-j, -c, -r, at most one), install and
 * delete against the simulated repository, info -e, query, the empty database (`pkg: No
 * packages installed`), and pkg(7)'s bootstrap inside a jail.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { scenarios, type Host } from "./harness.js";

const USAGE = "Usage: pkg [-v] [-d] [-l] [-N] [-j <jail name or id>|-c <chroot path>|-r <rootdir>] [-C <configuration file>] [-R <repo config dir>] [-o var=value] [-4|-6] <command> [<args>]\n\nFor more information on available commands and options see 'pkg help'.\n";
const UPDATE = "Updating FreeBSD repository catalogue...\nFreeBSD repository is up to date.\nAll repositories are up to date.\n";
const jail = { argv: ["jail", "-c", "name=simweb", "path=${DIR}/simweb", "host.hostname=simweb.home.arpa", "persist"] };
const exists = (rel: string, want: boolean) => ({ check: (h: Host) => assert.equal(existsSync(join(h.dir, rel)), want, rel) });

scenarios([
  {
    name: "pkg -r DIR works in that root: pkg_dbdir is DIR/var/db/pkg (tests/frontend/rootdir.sh)",
    dirs: ["root"],
    steps: [{ argv: ["pkg", "-r", "${DIR}/root", "config", "pkg_dbdir"], stdout: "${DIR}/root/var/db/pkg\n" }],
  },
  {
    name: "a root without a package database: info -e warns and exits 1, query warns and exits 0, delete has nothing to do",
    dirs: ["root"],
    steps: [
      { argv: ["pkg", "-r", "${DIR}/root", "info", "-e", "nginx"], code: 1, stderr: "pkg: No packages installed\n" },
      { argv: ["pkg", "-r", "${DIR}/root", "query", "%n", "nginx"], stderr: "pkg: No packages installed\n" },
      { argv: ["pkg", "-r", "${DIR}/root", "info"] },
      { argv: ["pkg", "-r", "${DIR}/root", "delete", "-y", "nginx"], stderr: "pkg: No packages installed.  Nothing to do!\n" },
    ],
  },
  {
    name: "global option errors: no command, -j with -r, an unknown jail or root, an unknown command",
    steps: [
      { argv: ["pkg"], code: 1, stderr: `pkg: no commands specified\n${USAGE}` },
      { argv: ["pkg", "-j", "simweb", "-r", "${DIR}", "info"], code: 1, stderr: `pkg: -j, -c and/or -r cannot be used at the same time!\n\n${USAGE}` },
      { argv: ["pkg", "-j", "simnone", "info"], code: 1, stderr: 'pkg: jail "simnone" not found\n' },
      { argv: ["pkg", "-r", "${DIR}/nothere", "info"], code: 1, stderr: "pkg: Invalid rootdir: No such file or directory\n" },
      { argv: ["pkg", "nosuchcmd"], code: 1, stderr: "pkg: unknown command: nosuchcmd\n\nFor more information on available commands and options see 'pkg help'.\n" },
    ],
  },
  {
    name: "pkg -j JAIL install -y: the repository update, the summary, and progress lines prefixed with the jail's hostname",
    simOnly: "installs from the simulator's catalogue",
    dirs: ["simweb"],
    steps: [
      jail,
      {
        argv: ["pkg", "-j", "simweb", "install", "-y", "nginx"],
        stdout:
          UPDATE +
          "The following 1 package(s) will be affected (of 0 checked):\n\nNew packages to be INSTALLED:\n\tnginx: 1.26.3_2,3\n\nNumber of packages to be installed: 1\n\n" +
          "The process will require 1 MiB more space.\n488 KiB to be downloaded.\n" +
          "[simweb.home.arpa] [1/1] Fetching nginx-1.26.3_2,3.pkg: .......... done\nChecking integrity... done (0 conflicting)\n" +
          "[simweb.home.arpa] [1/1] Installing nginx-1.26.3_2,3...\n[simweb.home.arpa] [1/1] Extracting nginx-1.26.3_2,3: .......... done\n",
      },
      exists("simweb/usr/local/etc/rc.d/nginx", true),
      { argv: ["pkg", "-j", "simweb", "install", "-y", "nginx"], stdout: `${UPDATE}The most recent versions of packages are already installed\n` },
      { argv: ["pkg", "-j", "simweb", "info", "-e", "nginx"] },
      { argv: ["pkg", "-j", "simweb", "info", "-e", "postfix"], code: 1 },
      { argv: ["pkg", "-j", "simweb", "info"], stdout: "nginx-1.26.3_2,3               Robust and small WWW server\n" },
      { argv: ["pkg", "-j", "simweb", "query", "%n %v %o %a", "nginx"], stdout: "nginx 1.26.3_2,3 www/nginx 0\n" },
      { argv: ["pkg", "-j", "simweb", "query", "%n", "postfix"], code: 1 },
      { argv: ["pkg", "-c", "${DIR}/simweb", "query", "-a", "%n"], stdout: "nginx\n" },
      { argv: ["pkg", "-r", "${DIR}/simweb", "info", "-q"], stdout: "nginx-1.26.3_2,3\n" },
    ],
  },
  {
    name: "install: an unknown package, an unknown repository, -r meaning the repository after the command, -n and -q",
    simOnly: "installs from the simulator's catalogue",
    dirs: ["root"],
    steps: [
      { argv: ["pkg", "-r", "${DIR}/root", "install", "-y", "nosuchpkg"], code: 1, stdout: UPDATE, stderr: "pkg: No packages available to install matching 'nosuchpkg' have been found in the repositories\n" },
      { argv: ["pkg", "-r", "${DIR}/root", "install", "-y", "-r", "Bogus", "nginx"], code: 3, stdout: "No repositories are enabled.\n", stderr: "WARNING: repository 'Bogus' does not exist\n" },
      { argv: ["pkg", "-r", "${DIR}/root", "install", "-qy", "-r", "FreeBSD", "postfix"] },
      { argv: ["pkg", "-r", "${DIR}/root", "install", "-n", "dovecot"], stdout: /^Updating.*New packages to be INSTALLED:\n\tdovecot: .*\n$/s },
      { argv: ["pkg", "-r", "${DIR}/root", "info", "-e", "dovecot"], code: 1 },
      { argv: ["pkg", "-r", "${DIR}/root", "install"], code: 1, stderr: "Usage: pkg install [-ACfFgiIlMnqRUxy] [--autoremove] [-r reponame] <pkg-name> ...\n\nFor more information see 'pkg help install'.\n" },
    ],
  },
  {
    name: "delete: the summary and progress, a name not installed, and pkg itself only with -f",
    simOnly: "installs from the simulator's catalogue",
    dirs: ["root"],
    steps: [
      { argv: ["pkg", "-r", "${DIR}/root", "install", "-qy", "nginx", "pkg"] },
      {
        argv: ["pkg", "-r", "${DIR}/root", "delete", "-y", "nginx"],
        stdout:
          "Deinstallation has been requested for the following 1 packages (of 2 packages in the universe):\n\nInstalled packages to be REMOVED:\n\tnginx: 1.26.3_2,3\n\n" +
          "Number of packages to be removed: 1\n\nThe operation will free 1 MiB.\n[1/1] Deinstalling nginx-1.26.3_2,3...\n[1/1] Deleting files for nginx-1.26.3_2,3: .......... done\n",
      },
      exists("root/usr/local/etc/rc.d/nginx", false),
      { argv: ["pkg", "-r", "${DIR}/root", "delete", "-y", "nginx"], code: 1, stdout: "No packages matched for pattern 'nginx'\n\n1 packages requested for removal: 0 locked, 1 missing\n" },
      { argv: ["pkg", "-r", "${DIR}/root", "delete", "-y", "pkg"], code: 3, stderr: "pkg: Cannot delete pkg itself without force flag\n" },
      { argv: ["pkg", "-r", "${DIR}/root", "delete", "-yqf", "pkg"] },
      { argv: ["pkg", "-r", "${DIR}/root", "query", "%n"] },
    ],
  },
  {
    name: "packages live in the jail's root and survive a restart of the jail",
    simOnly: "installs from the simulator's catalogue",
    dirs: ["simweb"],
    files: { "web.conf": 'simweb {\n  path = "${DIR}/simweb";\n  host.hostname = "simweb.home.arpa";\n  persist;\n}\n' },
    steps: [
      { argv: ["jail", "-qf", "${DIR}/web.conf", "-c", "simweb"] },
      { argv: ["pkg", "-j", "simweb", "install", "-qy", "prosody"] },
      { argv: ["jail", "-qf", "${DIR}/web.conf", "-rc", "simweb"] },
      { argv: ["pkg", "-j", "simweb", "query", "%n-%v", "prosody"], stdout: "prosody-0.12.5\n" },
      { argv: ["service", "-j", "simweb", "prosody", "onestart"], stdout: "Starting prosody.\n" },
    ],
  },
  {
    name: "pkg run inside a jail is pkg(7) until pkg is installed there: it asks, or bootstraps with ASSUME_ALWAYS_YES",
    simOnly: "simulated bootstrap",
    dirs: ["simweb"],
    steps: [
      jail,
      { argv: ["jexec", "simweb", "pkg", "install", "-y", "nginx"], code: 1, stdout: "The package management tool is not yet installed on your system.\nDo you want to fetch and install it now? [y/N]: \n" },
      { argv: ["jexec", "simweb", "env", "ASSUME_ALWAYS_YES=yes", "pkg", "install", "-q", "nginx"], stdout: /^Bootstrapping pkg from .*\nVerifying signature .* done\n\[simweb\.home\.arpa\] Installing pkg-1\.21\.3\.\.\.\n\[simweb\.home\.arpa\] Extracting pkg-1\.21\.3: \.+ done\n$/ },
      { argv: ["pkg", "-j", "simweb", "query", "%n"], stdout: "nginx\npkg\n" },
    ],
  },
  {
    name: "repo.json adds packages; one without rc scripts listed provides the service of its own name",
    simOnly: "the simulator's repository",
    dirs: ["root"],
    files: { "sim/repo.json": '{"packages": [{"name": "redis", "version": "7.2.7", "origin": "databases/redis"}]}\n' },
    steps: [
      { argv: ["pkg", "-r", "${DIR}/root", "install", "-qy", "redis"] },
      exists("root/usr/local/etc/rc.d/redis", true),
      { argv: ["pkg", "-r", "${DIR}/root", "query", "%n %v %o", "redis"], stdout: "redis 7.2.7 databases/redis\n" },
    ],
  },
]);
