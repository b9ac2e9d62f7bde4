/**
 * jls(8) scenarios: the text table, -v, -n, -q, -h, explicit parameters, and the libxo JSON
 * shapes (jid a number in the default and -v modes, strings with explicit parameters, lists for
 * addresses, JSON booleans only with -n), following jls.c's libxo format strings.
 */
import { scenarios, type Host } from "./harness.js";

const HEADER = "   JID  IP Address      Hostname                      Path\n";
const v = (h: Host, k: string): string => h.vars.get(k) ?? "";
const create = { argv: ["jail", "-c", "name=simweb", "path=${DIR}/simweb", "host.hostname=simweb.home.arpa", "ip4.addr=192.0.2.7,192.0.2.8", "persist"] };
const jid = { argv: ["jls", "-j", "simweb", "jid"], capture: "jid", stdout: null } as const;
const remove = { argv: ["jail", "-r", "simweb"] };

scenarios([
  {
    name: "the default table shows the jid, the first IPv4 address, the hostname and the path",
    jails: ["simweb"],
    dirs: ["simweb"],
    steps: [
      create,
      jid,
      { argv: ["jls", "-j", "simweb"], stdout: (h) => `${HEADER}${v(h, "jid").padStart(6)}  ${"192.0.2.7".padEnd(15)} ${"simweb.home.arpa".padEnd(29)} ${h.dir}/simweb\n` },
      { argv: ["jls", "-N", "-j", "simweb"], stdout: (h) => ` ${"JID".padEnd(15)} ${"IP Address".padEnd(15)} ${"Hostname".padEnd(29)} Path\n ${"simweb".padEnd(15)} ${"192.0.2.7".padEnd(15)} ${"simweb.home.arpa".padEnd(29)} ${h.dir}/simweb\n` },
      remove,
    ],
  },
  {
    name: "--libxo json: the default mode's jid is a number and only the first IPv4 address appears",
    jails: ["simweb"],
    dirs: ["simweb"],
    steps: [
      create,
      jid,
      { argv: ["jls", "--libxo", "json", "-j", "simweb"], stdout: (h) => `{"__version": "2", "jail-information": {"jail": [{"jid":${v(h, "jid")},"ipv4":"192.0.2.7","hostname":"simweb.home.arpa","path":"${h.dir}/simweb"}]}}\n` },
      { argv: ["jls", "--libxo=json", "-j", "simweb"], stdout: (h) => `{"__version": "2", "jail-information": {"jail": [{"jid":${v(h, "jid")},"ipv4":"192.0.2.7","hostname":"simweb.home.arpa","path":"${h.dir}/simweb"}]}}\n` },
      remove,
    ],
  },
  {
    name: "--libxo json with named parameters: every value a string, the addresses a list",
    jails: ["simweb"],
    dirs: ["simweb"],
    steps: [
      create,
      jid,
      {
        argv: ["jls", "--libxo", "json", "-j", "simweb", "jid", "name", "path", "host.hostname", "ip4.addr", "vnet", "persist"],
        stdout: (h) => `{"__version": "2", "jail-information": {"jail": [{"jid":"${v(h, "jid")}","name":"simweb","path":"${h.dir}/simweb","host.hostname":"simweb.home.arpa", "ip4.addr": ["192.0.2.7","192.0.2.8"],"vnet":"inherit","persist":"true"}]}}\n`,
      },
      { argv: ["jls", "--libxo", "json", "-n", "-j", "simweb", "jid", "persist", "allow.raw_sockets"], stdout: (h) => `{"__version": "2", "jail-information": {"jail": [{"jid":"${v(h, "jid")}","persist":true,"allow.raw_sockets":false}]}}\n` },
      remove,
    ],
  },
  {
    name: "jls -v: four header lines, then jid/hostname/path, name/state, cpuset and one address per line",
    jails: ["simweb"],
    dirs: ["simweb"],
    steps: [
      create,
      jid,
      { argv: ["jls", "-j", "simweb", "cpuset.id"], capture: "cpuset", stdout: null },
      {
        argv: ["jls", "-v", "-j", "simweb"],
        stdout: (h) =>
          "   JID  Hostname                      Path\n        Name                          State\n        CPUSetID\n        IP Address(es)\n" +
          `${v(h, "jid").padStart(6)}  ${"simweb.home.arpa".padEnd(29)} ${h.dir}/simweb\n        ${"simweb".padEnd(29)} ACTIVE\n        ${v(h, "cpuset")}\n        192.0.2.7\n        192.0.2.8\n`,
      },
      {
        argv: ["jls", "-v", "--libxo", "json", "-j", "simweb"],
        stdout: (h) => `{"__version": "2", "jail-information": {"jail": [{"jid":${v(h, "jid")},"hostname":"simweb.home.arpa","path":"${h.dir}/simweb","name":"simweb","state":"ACTIVE","cpusetid":${v(h, "cpuset")}, "ipv4_addrs": ["192.0.2.7","192.0.2.8"], "ipv6_addrs": []}]}}\n`,
      },
      remove,
    ],
  },
  {
    name: "a jail that is not there: the header (text) or an empty list (JSON) on stdout, the error on stderr, exit 1",
    steps: [
      { argv: ["jls", "-j", "simnone"], code: 1, stdout: HEADER, stderr: 'jls: jail "simnone" not found\n' },
      { argv: ["jls", "-j", "simnone", "jid"], code: 1, stderr: 'jls: jail "simnone" not found\n' },
      { argv: ["jls", "--libxo", "json", "-j", "simnone", "jid"], code: 1, stdout: '{"__version": "2", "jail-information": {"jail": []}}\n', stderr: 'jls: jail "simnone" not found\n' },
      { argv: ["jls", "-j", "999999", "jid"], code: 1, stderr: "jls: jail 999999 not found\n" },
    ],
  },
  {
    name: "named parameters: -n gives name=value and booleans as name or noname, -q quotes, -h adds a header, an empty address list is -",
    jails: ["simsp"],
    dirs: ["sim sp"],
    steps: [
      { argv: ["jail", "-c", "name=simsp", "path=${DIR}/sim sp", "persist"] },
      { argv: ["jls", "-j", "simsp", "jid"], capture: "jid", stdout: null },
      { argv: ["jls", "-j", "simsp", "name", "path", "ip4.addr", "persist", "allow.raw_sockets"], stdout: "simsp ${DIR}/sim sp - true false\n" },
      { argv: ["jls", "-q", "-j", "simsp", "name", "path", "ip4.addr"], stdout: 'simsp "${DIR}/sim sp" ""\n' },
      { argv: ["jls", "-n", "-j", "simsp", "name", "persist", "allow.raw_sockets", "allow.noraw_sockets", "ip4.addr"], stdout: "name=simsp persist allow.noraw_sockets allow.noraw_sockets ip4.addr=\n" },
      { argv: ["jls", "-h", "-j", "simsp", "jid", "name"], stdout: "jid name\n${jid} simsp\n" },
      { argv: ["jls", "--libxo", "json", "-j", "simsp", "ip4.addr", "host.domainname"], stdout: '{"__version": "2", "jail-information": {"jail": [{"ip4.addr": [],"host.domainname":""}]}}\n' },
      { argv: ["jail", "-r", "simsp"] },
    ],
  },
  {
    name: "every running jail, by jid, when no jail is named",
    simOnly: "a real host may run other jails",
    dirs: ["a", "b"],
    steps: [
      { argv: ["jail", "-c", "name=sima", "path=${DIR}/a", "persist"] },
      { argv: ["jail", "-c", "name=simb", "path=${DIR}/b", "persist", "ip4.addr=192.0.2.9"] },
      { argv: ["jls", "name", "ip4.addr"], stdout: "sima -\nsimb 192.0.2.9\n" },
      { argv: ["jls"], stdout: (h) => `${HEADER}     1  ${"".padEnd(15)} ${h.vars.get("HOSTNAME")?.padEnd(29).slice(0, 29)} ${h.dir}/a\n     2  ${"192.0.2.9".padEnd(15)} ${h.vars.get("HOSTNAME")?.padEnd(29).slice(0, 29)} ${h.dir}/b\n` },
    ],
  },
  {
    name: "unknown parameters and options are refused",
    steps: [
      { argv: ["jls", "nosuch"], code: 1, stderr: "jls: unknown parameter: nosuch\n" },
      { argv: ["jls", "-z"], code: 1, stderr: "jls: illegal option -- z\njls: usage: jls [-dhNnqv] [-j jail] [param ...]\n" },
      { argv: ["jls", "-j"], code: 1, stderr: "jls: option requires an argument -- j\njls: usage: jls [-dhNnqv] [-j jail] [param ...]\n" },
    ],
  },
]);
