/**
 * service(8) and rc.subr(8) scenarios: usage, scripts that do not exist, the rcvar check
 * ("Cannot 'start' …" on stdout, exit 0), start/stop/status/restart with their exit codes, the
 * one- prefix, enable/disable, -j, /etc/rc and /etc/rc.shutdown in a jail, and rc.d/jail
 * (`service jail start web`, which always exits 0).
 */
import { scenarios } from "./harness.js";

const usage = (local = "/usr/local/etc/rc.d"): string =>
  "\nUsage:\n" +
  "service [-j <jail name or id>] -e\n" +
  "service [-j <jail name or id>] -R\n" +
  "service [-j <jail name or id>] [-v] -l | -r\n" +
  "service [-j <jail name or id>] [-v] <rc.d script> start|stop|etc.\n" +
  "service -h\n\n" +
  "-j\tPerform actions within the named jail\n" +
  "-e\tShow services that are enabled\n" +
  `-R\tStop and start enabled ${local} services\n` +
  `-l\tList all scripts in /etc/rc.d and ${local}\n` +
  "-r\tShow the results of boot time rcorder\n" +
  "-v\tVerbose\n\n";

const PID = /^nginx is running as pid [0-9]+\.\n$/;
const jail = (name = "simweb") => ({ argv: ["jail", "-c", `name=${name}`, `path=\${DIR}/${name}`, `host.hostname=${name}.home.arpa`, "persist"] });

scenarios([
  {
    name: "service -h prints the usage on stdout and exits 0; without a command it exits 1",
    steps: [
      { argv: ["service", "-h"], stdout: usage() },
      { argv: ["service"], code: 1, stdout: usage() },
      { argv: ["service", "sshd"], code: 1, stdout: usage() },
      { argv: ["service", "-z"], code: 1, stdout: usage(), stderr: "Illegal option -z\n" },
    ],
  },
  {
    name: "a script found nowhere: service says where it looked and exits 1",
    steps: [{ argv: ["service", "simnosuch", "start"], code: 1, stdout: "simnosuch does not exist in /etc/rc.d or the local startup\ndirectories (/usr/local/etc/rc.d), or is not executable\n" }],
  },
  {
    name: "a disabled service: start and status say Cannot and exit 0; the one- prefix runs it anyway",
    simOnly: "installs nginx from the simulator's catalogue",
    dirs: ["simweb"],
    steps: [
      jail(),
      { argv: ["service", "-j", "simweb", "nginx", "start"], code: 1, stdout: "nginx does not exist in /etc/rc.d or the local startup\ndirectories (/usr/local/etc/rc.d), or is not executable\n" },
      { argv: ["pkg", "-j", "simweb", "install", "-qy", "nginx"] },
      { argv: ["service", "-j", "simweb", "nginx", "start"], stdout: "Cannot 'start' nginx. Set nginx_enable to YES in /etc/rc.conf or use 'onestart' instead of 'start'.\n" },
      { argv: ["service", "-j", "simweb", "nginx", "status"], stdout: "Cannot 'status' nginx. Set nginx_enable to YES in /etc/rc.conf or use 'onestatus' instead of 'status'.\n" },
      { argv: ["service", "-j", "simweb", "nginx", "stop"], stdout: "Cannot 'stop' nginx. Set nginx_enable to YES in /etc/rc.conf or use 'onestop' instead of 'stop'.\n" },
      { argv: ["service", "-j", "simweb", "nginx", "onestatus"], code: 1, stdout: "nginx is not running.\n" },
      { argv: ["service", "-j", "simweb", "nginx", "onestart"], stdout: "Starting nginx.\n" },
      { argv: ["service", "-j", "simweb", "nginx", "onestatus"], stdout: PID },
      { argv: ["service", "-j", "simweb", "nginx", "onestop"], stdout: /^Stopping nginx\.\nWaiting for PIDS: [0-9]+\.\n$/ },
      { argv: ["service", "-j", "simweb", "nginx", "onestop"], code: 1, stderr: "nginx not running? (check /var/run/nginx.pid).\n" },
    ],
  },
  {
    name: "an enabled service: start, status, a second start, restart, stop",
    simOnly: "installs nginx from the simulator's catalogue",
    dirs: ["simweb"],
    steps: [
      jail(),
      { argv: ["pkg", "-j", "simweb", "install", "-qy", "nginx"] },
      { argv: ["service", "-j", "simweb", "nginx", "enable"], stdout: "nginx enabled in /etc/rc.conf\n" },
      { argv: ["sysrc", "-j", "simweb", "nginx_enable"], stdout: "nginx_enable: YES\n" },
      { argv: ["service", "-j", "simweb", "nginx", "status"], code: 1, stdout: "nginx is not running.\n" },
      { argv: ["service", "-j", "simweb", "nginx", "restart"], stdout: "Starting nginx.\n", stderr: "nginx not running? (check /var/run/nginx.pid).\n" },
      { argv: ["service", "-j", "simweb", "nginx", "status"], stdout: PID },
      { argv: ["service", "-j", "simweb", "nginx", "start"], code: 1, stderr: /^nginx already running\?  \(pid=[0-9]+\)\.\n$/ },
      { argv: ["service", "-j", "simweb", "nginx", "restart"], stdout: /^Stopping nginx\.\nWaiting for PIDS: [0-9]+\.\nStarting nginx\.\n$/ },
      { argv: ["service", "-j", "simweb", "nginx", "stop"], stdout: /^Stopping nginx\.\nWaiting for PIDS: [0-9]+\.\n$/ },
      { argv: ["service", "-j", "simweb", "nginx", "enabled"] },
      { argv: ["service", "-j", "simweb", "nginx", "disable"], stdout: "nginx disabled in /etc/rc.conf\n" },
      { argv: ["service", "-j", "simweb", "nginx", "enabled"], code: 1 },
      { argv: ["service", "-j", "simweb", "nginx", "bogus"], code: 1, stderr: "/usr/local/etc/rc.d/nginx: unknown directive 'bogus'.\nUsage: /usr/local/etc/rc.d/nginx [fast|force|one|quiet](start|stop|restart|rcvar|enable|disable|delete|enabled|describe|extracommands|reload|configtest|upgrade|gracefulstop|status|poll)\n" },
    ],
  },
  {
    name: "an rc script's $name and rcvar may differ from its file name (milter-opendkim)",
    simOnly: "installs opendkim from the simulator's catalogue",
    dirs: ["simweb"],
    steps: [
      jail(),
      { argv: ["pkg", "-j", "simweb", "install", "-qy", "opendkim"] },
      { argv: ["service", "-j", "simweb", "milter-opendkim", "start"], stdout: "Cannot 'start' milteropendkim. Set milteropendkim_enable to YES in /etc/rc.conf or use 'onestart' instead of 'start'.\n" },
      { argv: ["sysrc", "-j", "simweb", "milteropendkim_enable=YES"], stdout: "milteropendkim_enable:  -> YES\n" },
      { argv: ["service", "-j", "simweb", "milter-opendkim", "start"], stdout: "Starting milteropendkim.\n" },
    ],
  },
  {
    name: "an rcvar that is neither yes nor no is warned about and counts as no",
    simOnly: "installs nginx from the simulator's catalogue",
    dirs: ["simweb/etc"],
    files: { "simweb/etc/rc.conf": 'nginx_enable="maybe"\n' },
    steps: [
      jail(),
      { argv: ["pkg", "-j", "simweb", "install", "-qy", "nginx"] },
      {
        argv: ["service", "-j", "simweb", "nginx", "start"],
        stdout: "Cannot 'start' nginx. Set nginx_enable to YES in /etc/rc.conf or use 'onestart' instead of 'start'.\n",
        stderr: "/usr/local/etc/rc.d/nginx: WARNING: $nginx_enable is not set properly - see rc.conf(5).\n",
      },
    ],
  },
  {
    name: "service -j needs a running jail",
    steps: [{ argv: ["service", "-j", "simnone", "sshd", "status"], code: 1, stderr: 'jexec: jail "simnone" not found\n' }],
  },
  {
    name: "exec.start = /bin/sh /etc/rc starts the enabled scripts; exec.stop = /bin/sh /etc/rc.shutdown stops them",
    simOnly: "the simulator's /etc/rc runs only the simulated scripts",
    dirs: ["simweb/etc"],
    files: {
      "simweb/etc/rc.conf": 'sshd_enable="YES"\ncron_enable="NO"\n',
      "web.conf": 'simweb {\n  path = "${DIR}/simweb";\n  exec.start = "/bin/sh /etc/rc";\n  exec.stop = "/bin/sh /etc/rc.shutdown jail";\n}\n',
    },
    steps: [
      { argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], stdout: "simweb: created\nStarting syslogd.\nStarting sshd.\n" },
      { argv: ["service", "-j", "simweb", "sshd", "status"], stdout: /^sshd is running as pid [0-9]+\.\n$/ },
      { argv: ["service", "-j", "simweb", "cron", "onestatus"], code: 1, stdout: "cron is not running.\n" },
      { argv: ["service", "-j", "simweb", "-e"], stdout: "/etc/rc.d/syslogd\n/etc/rc.d/sshd\n" },
      { argv: ["jail", "-f", "${DIR}/web.conf", "-r", "simweb"], stdout: /^Stopping sshd\.\nWaiting for PIDS: [0-9]+\.\nStopping syslogd\.\nWaiting for PIDS: [0-9]+\.\nsimweb: removed\n$/ },
    ],
  },
  {
    name: "a jail without persist lives as long as its daemons: stopping the last one ends it",
    simOnly: "the simulator's daemons are records, not processes",
    dirs: ["simweb/etc"],
    files: {
      "simweb/etc/rc.conf": 'syslogd_enable="NO"\ncron_enable="YES"\n',
      "web.conf": 'simweb {\n  path = "${DIR}/simweb";\n  exec.start = "/bin/sh /etc/rc";\n}\n',
    },
    steps: [
      { argv: ["jail", "-f", "${DIR}/web.conf", "-c", "simweb"], stdout: "simweb: created\nStarting cron.\n" },
      { argv: ["jls", "-j", "simweb", "name"], stdout: "simweb\n" },
      { argv: ["service", "-j", "simweb", "cron", "stop"], stdout: /^Stopping cron\.\nWaiting for PIDS: [0-9]+\.\n$/ },
      { argv: ["jls", "-j", "simweb", "name"], code: 1, stderr: 'jls: jail "simweb" not found\n' },
    ],
  },
  {
    name: "service jail start NAME: Cannot while jail_enable is off; Starting jails: NAME. once on; always exit 0",
    simOnly: "writes the host's /etc/rc.conf and /etc/jail.conf.d",
    dirs: ["simweb"],
    files: { "sim/host/etc/jail.conf.d/simweb.conf": 'simweb {\n  path = "${DIR}/simweb";\n  persist;\n}\n' },
    steps: [
      { argv: ["service", "jail", "start", "simweb"], stdout: "Cannot 'start' jail. Set jail_enable to YES in /etc/rc.conf or use 'onestart' instead of 'start'.\n" },
      { argv: ["sysrc", "jail_enable=YES"], stdout: "jail_enable: NO -> YES\n" },
      { argv: ["service", "jail", "start", "simweb"], stdout: "Starting jails: simweb.\n" },
      { argv: ["jls", "-j", "simweb", "name"], stdout: "simweb\n" },
      { argv: ["service", "jail", "start", "simweb"], stdout: 'Starting jails: cannot start jail  "simweb": \njail: "simweb" already exists\n.\n' },
      { argv: ["service", "jail", "stop", "simweb"], stdout: "Stopping jails: simweb.\n" },
      { argv: ["service", "jail", "stop", "simweb"], stdout: "Stopping jails:.\n" },
      { argv: ["service", "jail", "start", "simnone"], stdout: "Starting jails:.\n", stderr: "/etc/rc.d/jail: WARNING: Invalid configuration for simnone (no jail.conf, no hostname, or no path).  Jail simnone was ignored.\n" },
    ],
  },
  {
    name: "service jail start reports a jail that fails to start with jail(8)'s output, and exits 0",
    simOnly: "writes the host's /etc/rc.conf and a jail_NAME_conf",
    files: { "web.conf": 'simweb {\n  path = "${DIR}/missing";\n  persist;\n}\n' },
    steps: [
      { argv: ["sysrc", "jail_enable=YES", "jail_simweb_conf=${DIR}/web.conf"], stdout: "jail_enable: NO -> YES\njail_simweb_conf:  -> ${DIR}/web.conf\n" },
      { argv: ["service", "jail", "start", "simweb"], stdout: 'Starting jails: cannot start jail  "simweb": \njail: simweb: path ${DIR}/missing: No such file or directory\n.\n' },
      { argv: ["jls", "-j", "simweb", "name"], code: 1, stderr: 'jls: jail "simweb" not found\n' },
    ],
  },
]);
