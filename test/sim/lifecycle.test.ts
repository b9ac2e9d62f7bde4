/**
 * A jail's life as Steward's jail driver will drive it, end to end through the simulated tools:
 * configure the stopped root with sysrc -f and pkg -r, start it with exec.start = /bin/sh
 * /etc/rc, inspect it with jls --libxo json, change a service, restart the jail and find its
 * packages and enabled services back, then stop it.
 */
import assert from "node:assert/strict";
import { scenarios, type Host } from "./harness.js";

const CONF =
  'web {\n  path = "${DIR}/jails/web/root";\n  host.hostname = "web.home.arpa";\n  ip4.addr = "lo1|10.17.0.5/32";\n' +
  '  exec.clean;\n  exec.start = "/bin/sh /etc/rc";\n  exec.stop = "/bin/sh /etc/rc.shutdown jail";\n  exec.consolelog = "${DIR}/console-web.log";\n' +
  "  mount.devfs;\n  devfs_ruleset = 4;\n  securelevel = 2;\n  enforce_statfs = 2;\n  allow.noraw_sockets;\n  persist;\n}\n";

const inventory = (h: Host): unknown => ({
  __version: "2",
  "jail-information": { jail: [{ jid: h.vars.get("jid"), name: "web", path: `${h.dir}/jails/web/root`, "host.hostname": "web.home.arpa", "ip4.addr": ["10.17.0.5"], vnet: "inherit", persist: "true" }] },
});

scenarios([
  {
    name: "configure a stopped root, start it, change it, restart it, stop it",
    simOnly: "installs from the simulator's catalogue and runs the simulated /etc/rc",
    dirs: ["jails/web/root/dev", "jails/web/root/etc"],
    files: { "jail.conf.d/web.conf": CONF },
    steps: [
      { argv: ["sysrc", "-f", "${DIR}/jails/web/root/etc/rc.conf", "nginx_enable=YES", "sshd_enable=NO"], stdout: "nginx_enable:  -> YES\nsshd_enable: NO -> NO\n" },
      { argv: ["pkg", "-r", "${DIR}/jails/web/root", "install", "-qy", "nginx"] },
      { argv: ["jail", "-f", "${DIR}/jail.conf.d/web.conf", "-c", "web"], stdout: "web: created\n" },
      { argv: ["jls", "-j", "web", "jid"], capture: "jid", stdout: /^[0-9]+\n$/ },
      {
        argv: ["jls", "--libxo", "json", "-j", "web", "jid", "name", "path", "host.hostname", "ip4.addr", "vnet", "persist"],
        stdout: null,
        capture: "inventory",
      },
      { check: (h) => assert.deepEqual(JSON.parse(h.vars.get("inventory") ?? ""), inventory(h)) },
      { argv: ["service", "-j", "web", "nginx", "status"], stdout: /^nginx is running as pid [0-9]+\.\n$/ },
      { argv: ["pkg", "-j", "web", "install", "-qy", "py311-radicale"] },
      { argv: ["sysrc", "-j", "web", "radicale_enable=YES"], stdout: "radicale_enable:  -> YES\n" },
      { argv: ["service", "-j", "web", "radicale", "start"], stdout: "Starting radicale.\n" },
      { argv: ["jail", "-f", "${DIR}/jail.conf.d/web.conf", "-rc", "web"], stdout: "web: created\n" },
      { argv: ["service", "-j", "web", "radicale", "status"], stdout: /^radicale is running as pid [0-9]+\.\n$/ },
      { argv: ["pkg", "-j", "web", "query", "%n"], stdout: "nginx\npy311-radicale\n" },
      { argv: ["jail", "-f", "${DIR}/jail.conf.d/web.conf", "-r", "web"], stdout: "web: removed\n" },
      { argv: ["jls", "-j", "web", "jid"], code: 1, stderr: 'jls: jail "web" not found\n' },
      { argv: ["pkg", "-r", "${DIR}/jails/web/root", "query", "%n"], stdout: "nginx\npy311-radicale\n" },
    ],
  },
]);
