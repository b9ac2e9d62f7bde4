/**
 * The pfctl simulator's parser and printer, case by case, through `pfctl -nvf -` and `pfctl -nf -`:
 * inputs written from pf.conf(5) and parse.y, expected output and messages as FreeBSD 14's pfctl
 * prints them (pfctl_parser.c print_rule, parse.y yyerror texts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runPfctl } from "../../sim/pfctl.js";

function pfctl(args: string[], input: string): { stdout: string; stderr: string; code: number } {
  const env = { ...process.env };
  delete env["STEWARD_SIM_ROOT"];
  return runPfctl(args, { env, cwd: process.cwd(), stdin: () => input });
}

const nv = (input: string): ReturnType<typeof pfctl> => pfctl(["-o", "none", "-nvf", "-"], input);

const printed: { name: string; input: string; out: string }[] = [
  { name: "a bare block prints the default block policy and all", input: "block in\n", out: "block drop in all\n" },
  { name: "pass keeps state with flags S/SA by default", input: "pass in\n", out: "pass in all flags S/SA keep state\n" },
  {
    name: "a tcp port by number prints as its service name",
    input: "pass in quick on em0 inet proto tcp from any to 10.17.0.5 port 443\n",
    out: "pass in quick on em0 inet proto tcp from any to 10.17.0.5 port = https flags S/SA keep state\n",
  },
  {
    name: "a port without a service name stays numeric",
    input: "pass in quick on em0 inet proto tcp to 10.17.0.5 port 8443 keep state\n",
    out: "pass in quick on em0 inet proto tcp from any to 10.17.0.5 port = 8443 flags S/SA keep state\n",
  },
  {
    name: "lists expand to one rule each, protocols outermost",
    input: "pass in proto { tcp udp } to 10.0.0.1 port { 53 80 }\n",
    out:
      "pass in inet proto tcp from any to 10.0.0.1 port = domain flags S/SA keep state\n" +
      "pass in inet proto tcp from any to 10.0.0.1 port = http flags S/SA keep state\n" +
      "pass in inet proto udp from any to 10.0.0.1 port = domain keep state\n" +
      "pass in inet proto udp from any to 10.0.0.1 port = http keep state\n",
  },
  {
    name: "macros expand outside quotes and print as definitions",
    input: 'ext_if = "em0"\npass in on $ext_if\n',
    out: 'ext_if = "em0"\npass in on em0 all flags S/SA keep state\n',
  },
  {
    name: "a macro holding a list expands to the list",
    input: 'ports = "{ ssh, smtp }"\npass in proto tcp to port $ports\n',
    out: 'ports = "{ ssh, smtp }"\npass in proto tcp from any to any port = ssh flags S/SA keep state\npass in proto tcp from any to any port = smtp flags S/SA keep state\n',
  },
  {
    name: "a backslash joins lines",
    input: "pass in \\\n  proto udp \\\n  to port ntp\n",
    out: "pass in proto udp from any to any port = ntp keep state\n",
  },
  {
    name: "port ranges, exclusions and comparisons print with their operators",
    input: "pass in proto tcp to port 1000:2000\npass in proto tcp to port 1000 >< 2000\npass in proto tcp to port 1000 <> 2000\npass in proto tcp to port != 22\npass in proto tcp to port >= 1024\n",
    out:
      "pass in proto tcp from any to any port 1000:2000 flags S/SA keep state\n" +
      "pass in proto tcp from any to any port 1000 >< 2000 flags S/SA keep state\n" +
      "pass in proto tcp from any to any port 1000 <> 2000 flags S/SA keep state\n" +
      "pass in proto tcp from any to any port != ssh flags S/SA keep state\n" +
      "pass in proto tcp from any to any port >= 1024 flags S/SA keep state\n",
  },
  {
    name: "service names and aliases are looked up in FreeBSD's services",
    input: "pass in proto tcp to port { submission, submissions, imaps, xmpp-client, xmpp-server, www }\n",
    out:
      "pass in proto tcp from any to any port = submission flags S/SA keep state\n" +
      "pass in proto tcp from any to any port = smtps flags S/SA keep state\n" +
      "pass in proto tcp from any to any port = imaps flags S/SA keep state\n" +
      "pass in proto tcp from any to any port = xmpp-client flags S/SA keep state\n" +
      "pass in proto tcp from any to any port = xmpp-server flags S/SA keep state\n" +
      "pass in proto tcp from any to any port = http flags S/SA keep state\n",
  },
  {
    name: "IPv6 addresses and networks print in canonical form",
    input: "pass in inet6 from 2001:DB8:0:0::1 to 2001:db8::/32\n",
    out: "pass in inet6 from 2001:db8::1 to 2001:db8::/32 flags S/SA keep state\n",
  },
  {
    name: "a network is masked and a host mask is not printed",
    input: "block in from 10.1.2.3/8 to 10.0.0.1/32\n",
    out: "block drop in inet from 10.0.0.0/8 to 10.0.0.1\n",
  },
  {
    name: "tables, dynamic addresses, negation, no-route and urpf-failed print as written",
    input: "block in from <bad> to ! (em0)\nblock in from no-route to any\nblock in from urpf-failed\n",
    out: "block drop in from <bad> to ! (em0)\nblock drop in from no-route to any\nblock drop in from urpf-failed to any\n",
  },
  {
    name: "an address range prints with a dash",
    input: "pass in from 10.0.0.1 - 10.0.0.9\n",
    out: "pass in inet from 10.0.0.1 - 10.0.0.9 to any flags S/SA keep state\n",
  },
  {
    name: "state options, tags, labels and logging print in pfctl's order",
    input: 'pass in log quick on em0 proto tcp to port 22 flags S/SA modulate state (max 100, source-track rule, max-src-conn 10) tag SSH label "ssh-$dstport"\n',
    out: 'pass in log quick on em0 proto tcp from any to any port = ssh flags S/SA modulate state (max 100, source-track rule, max-src-conn 10, adaptive.start 60, adaptive.end 120) label "ssh-22" tag SSH\n',
  },
  {
    name: "no state and tagged print after the state part",
    input: "pass out on em0 tagged WEB no state\nblock out on em0 ! tagged WEB\n",
    out: "pass out on em0 all no state tagged WEB\nblock drop out on em0 all ! tagged WEB\n",
  },
  {
    name: "icmp types and codes print by name",
    input: "pass in inet proto icmp icmp-type echoreq\npass in inet6 proto icmp6 icmp6-type { unreach, toobig }\n",
    out:
      "pass in inet proto icmp all icmp-type echoreq keep state\n" +
      "pass in inet6 proto ipv6-icmp all icmp6-type unreach keep state\n" +
      "pass in inet6 proto ipv6-icmp all icmp6-type toobig keep state\n",
  },
  {
    name: "return policies print with their defaults",
    input: "set block-policy return\nblock in proto tcp\nblock return-rst in proto tcp\nblock return-icmp in inet\n",
    out: "set block-policy return\nblock return in proto tcp all\nblock return-rst in proto tcp all\nblock return-icmp(port-unr) in inet all\n",
  },
  {
    name: "translation rules print before filter rules, rdr ports and nat pools included",
    input:
      "nat on em0 inet from 10.17.0.0/16 to any -> (em0)\n" +
      "rdr on em0 inet proto tcp from any to (em0) port 443 -> 10.17.5.2 port 8443\n" +
      "binat on em0 from 10.17.0.5 to any -> 192.0.2.5\n" +
      "pass in all\n",
    out:
      "nat on em0 inet from 10.17.0.0/16 to any -> (em0) round-robin\n" +
      "rdr on em0 inet proto tcp from any to (em0) port = https -> 10.17.5.2 port 8443\n" +
      "binat on em0 inet from 10.17.0.5 to any -> 192.0.2.5\n" +
      "pass in all flags S/SA keep state\n",
  },
  {
    name: "nat and rdr with tags print the tag before the arrow",
    input: "nat on em0 inet from 10.17.0.5 to ! <homelan> tag steward_web -> (em0)\n",
    out: "nat on em0 inet from 10.17.0.5 to ! <homelan> tag steward_web -> (em0) round-robin\n",
  },
  {
    name: "anchors and wildcard anchors print with all",
    input: 'nat-anchor "steward/*"\nrdr-anchor "steward/*"\nanchor "steward/*"\nanchor "steward/web" in on epair5a\n',
    out: 'nat-anchor "steward/*" all\nrdr-anchor "steward/*" all\nanchor "steward/*" all\nanchor "steward/web" in on epair5a all\n',
  },
  {
    name: "an inline anchor prints its rules indented in braces",
    input: 'anchor "web" {\n  pass in proto tcp to port 80\n  anchor {\n    block all\n  }\n}\n',
    out: 'anchor "web" all {\n  pass in proto tcp from any to any port = http flags S/SA keep state\n  anchor all {\n    block drop all\n  }\n}\n',
  },
  {
    name: "a table definition prints with its flags and addresses",
    input: "table <homelan> const { 192.168.1.0/24, !192.168.1.5 }\ntable <jails> persist\ntable <empty> { }\n",
    out: "table <homelan> const { 192.168.1.0/24 !192.168.1.5 }\ntable <jails> persist\ntable <empty> { }\n",
  },
  {
    name: "set options print as pfctl -v echoes them",
    input: "set limit states 20000\nset timeout { tcp.first 60, interval 5 }\nset skip on { lo0 lo1 }\nset state-policy if-bound\nset hostid 10\nset optimization aggressive\nset debug misc\n",
    out: "set limit states 20000\nset timeout tcp.first 60\nset timeout interval 5\nset skip on { lo0 lo1 }\nset state-policy if-bound\nset hostid 0x0000000a\nset optimization aggressive\nset debug misc\n",
  },
  {
    name: "scrub rules print their reassembly",
    input: "scrub in on em0 all fragment reassemble\nscrub out all max-mss 1440 random-id\n",
    out: "scrub in on em0 all fragment reassemble\nscrub out all random-id max-mss 1440 fragment reassemble\n",
  },
  {
    name: "ether rules print with their MAC masks and l3 part, before translation and filter rules",
    input:
      "ether block out on igb0 to 00:01:02:03:04:05/24\n" +
      "ether block out on igb0 to ! 00:01:02:03:04:05&ff:ff:ff:00:00:ff\n" +
      'ether pass in on em0 l3 from 10.0.0.1 to any label "l2" ridentifier 7 tag L2\n' +
      "pass all\n",
    out:
      "ether block out on igb0 to 00:01:02:03:04:05/24 l3 all\n" +
      "ether block out on igb0 to ! 00:01:02:03:04:05&ff:ff:ff:00:00:ff l3 all\n" +
      'ether pass in on em0 proto 0x0800 l3 from 10.0.0.1 to any label "l2" ridentifier 7 tag L2\n' +
      "pass all flags S/SA keep state\n",
  },
  {
    name: "altq and queue definitions print with the computed token bucket size",
    input: "altq on em0 cbq(default codel) bandwidth 20Mb queue qmain\nqueue qmain { q1 q2 }\nqueue q1 priority 1 bandwidth 60%\nqueue q2 priority 2 bandwidth 40%\npass on em0 queue q1\n",
    out: "altq on em0 cbq( codel default ) bandwidth 20Mb tbrsize 12000 queue { qmain }\nqueue qmain { q1 q2 }\nqueue q1 bandwidth 60% \nqueue q2 bandwidth 40% priority 2 \npass on em0 all flags S/SA keep state queue q1\n",
  },
  {
    name: "route-to prints its interface and address pool",
    input: "pass out on em0 route-to (em1 192.0.2.1) inet from any to 198.51.100.0/24\n",
    out: "pass out on em0 route-to (em1 192.0.2.1) inet from any to 198.51.100.0/24 flags S/SA keep state\n",
  },
  {
    name: "an interface address keeps its own mask in each address family of a list",
    input: "pass from { 192.0.2.1 2001:db8::1 } to (pppoe0)\n",
    out: "pass inet from 192.0.2.1 to (pppoe0) flags S/SA keep state\npass inet6 from 2001:db8::1 to (pppoe0) flags S/SA keep state\n",
  },
  {
    name: "FreeBSD 14.x additions: log (matches), received-on, endpoint-independent, pflow",
    input:
      "nat on vtnet1 inet from ! (vtnet1) to any -> (vtnet1) endpoint-independent\n" +
      "match log(matches) inet from 192.0.2.0/24\n" +
      "pass out on em0 from 192.0.2.1 to 198.51.100.1 received-on fxp0\n" +
      "pass in all keep state (pflow)\n",
    out:
      "nat on vtnet1 inet from ! (vtnet1) to any -> (vtnet1) round-robin endpoint-independent\n" +
      "match log (matches) inet from 192.0.2.0/24 to any\n" +
      "pass out on em0 inet from 192.0.2.1 to 198.51.100.1 received-on fxp0 flags S/SA keep state\n" +
      "pass in all flags S/SA keep state (pflow)\n",
  },
  {
    name: "lo0 expands to its addresses and 'self' to every local address",
    input: "pass in inet from lo0 to any\n",
    out: "pass in inet from 127.0.0.1 to any flags S/SA keep state\n",
  },
];

for (const c of printed)
  test(c.name, () => {
    const r = nv(c.input);
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, c.out);
    assert.equal(r.code, 0);
  });

const rejected: { name: string; input: string; stderr: string }[] = [
  { name: "a file whose last line has no newline is a syntax error", input: "pass all", stderr: "stdin:1: syntax error\n" },
  { name: "an unknown word is a syntax error on its line", input: "pass in\nfrobnicate all\n", stderr: "stdin:2: syntax error\n" },
  {
    name: "an undefined macro is named, then the line is a syntax error",
    input: "pass in on $ext_if\n",
    stderr: "stdin:1: macro 'ext_if' not defined\nstdin:1: syntax error\n",
  },
  {
    name: "a macro name stops at a dash, so $web-jail asks for $web",
    input: 'web-jail = "10.0.0.1"\npass in from $web-jail\n',
    stderr: "stdin:2: macro 'web' not defined\nstdin:2: syntax error\n",
  },
  {
    name: "translation after filtering breaks the order rule",
    input: "pass all\nnat on em0 from any to any -> (em0)\n",
    stderr: "stdin:2: Rules must be in order: options, ethernet, normalization, queueing, translation, filtering\n",
  },
  {
    name: "an option after rules breaks the order rule",
    input: "pass all\nset block-policy return\n",
    stderr: "stdin:2: Rules must be in order: options, ethernet, normalization, queueing, translation, filtering\n",
  },
  {
    name: "a port needs tcp or udp",
    input: "pass in proto icmp to port 80\n",
    stderr: "stdin:1: port only applies to tcp/udp\nstdin:1: skipping rule due to errors\nstdin:1: rule expands to no valid combination\n",
  },
  { name: "inet6 with an IPv4 address expands to nothing", input: "pass in inet6 from 10.0.0.1\n", stderr: "stdin:1: rule expands to no valid combination\n" },
  {
    name: "a /33 on an IPv4 address is an invalid netmask",
    input: "pass in from 10.0.0.1/33\n",
    stderr: "netmask 33 invalid for IPv4 address\nstdin:1: skipping rule due to errors\nstdin:1: rule expands to no valid combination\n",
  },
  { name: "a mask above 128 is refused by host()", input: "pass in from 10.0.0.1/200\n", stderr: "invalid netmask '/200'\nstdin:1: could not parse host specification\n" },
  { name: "a name the resolver does not know is no address", input: "pass in from example.invalid\n", stderr: "no IP address found for example.invalid\nstdin:1: could not parse host specification\n" },
  { name: "a table name of 32 characters is too long", input: `table <${"t".repeat(32)}> persist\n`, stderr: "stdin:1: table name too long, max 31 chars\n" },
  { name: "a table of 31 characters is fine but a reference of 32 is not", input: `pass in from <${"t".repeat(32)}>\n`, stderr: `stdin:1: table name '${"t".repeat(32)}' too long\n` },
  { name: "an interface name of 16 characters is too long", input: "pass on epair_steward_web0\n", stderr: "stdin:1: interface name too long\n" },
  { name: "a label of 64 characters is too long", input: `pass label "${"l".repeat(64)}"\n`, stderr: "stdin:1: rule label too long (max 63 chars)\n" },
  { name: "an unknown port name is refused", input: "pass in proto tcp to port nosuchservice\n", stderr: "stdin:1: unknown port nosuchservice\n" },
  { name: "an unknown protocol is refused", input: "pass in proto nosuchproto\n", stderr: "stdin:1: unknown protocol nosuchproto\n" },
  { name: "an inline anchor on one line is a syntax error", input: 'anchor "x" { pass all }\n', stderr: "stdin:1: syntax error\n" },
  { name: "flags only apply to tcp", input: "pass in proto udp flags S/SA\n", stderr: "stdin:1: flags only apply to tcp\n" },
  {
    name: "keep state on a block rule is refused",
    input: "block in keep state\n",
    stderr: "stdin:1: keep state is great, but only for pass rules\nstdin:1: skipping rule due to errors\nstdin:1: rule expands to no valid combination\n",
  },
  { name: "a nat rule needs a translation address", input: "nat on em0 from any to any\n", stderr: "stdin:1: translation rule requires '-> address'\n" },
  { name: "an invalid table option is named", input: "table <t> persistent\n", stderr: "stdin:1: invalid table option 'persistent'\n" },
  { name: "every bad line is reported, not only the first", input: "bogus1\npass all\npass all\nbogus2\n", stderr: "stdin:1: syntax error\nstdin:4: syntax error\n" },
  {
    name: "after an undefined macro yacc's recovery swallows the next line too",
    input: "pass in on $a\npass all\nbogus\n",
    stderr: "stdin:1: macro 'a' not defined\nstdin:1: syntax error\n",
  },
  { name: "an altq definition needs an absolute bandwidth", input: "altq on em0 cbq queue { std }\n", stderr: "interface em0 does not know its bandwidth, please specify an absolute bandwidth\n" },
  { name: "a queue needs a parent", input: "queue std bandwidth 10%\n", stderr: "stdin:1: queue std has no parent\n" },
  { name: "hfsc service curves are refused by the simulator, not accepted", input: "altq on em0 hfsc(linkshare 10Mb) bandwidth 10Mb queue { a }\n", stderr: "stdin:1: the hfsc service curve and timing options (linkshare) is not supported by the pfctl simulator\n" },
  { name: "an inline ether anchor is refused by the simulator, not accepted", input: 'ether anchor "x" {\n}\n', stderr: "stdin:1: an inline ether anchor is not supported by the pfctl simulator\n" },
  { name: "ether rules come before normalization", input: "scrub in all\nether pass in all\n", stderr: "stdin:2: Rules must be in order: options, ethernet, normalization, queueing, translation, filtering\n" },
  { name: "a MAC address must have six parts", input: "ether block from 00:01:02\n", stderr: "stdin:1: invalid MAC address\n" },
];

for (const c of rejected)
  test(c.name, () => {
    const r = pfctl(["-nf", "-"], c.input);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, c.stderr);
    assert.equal(r.code, 1);
  });

test("-n parses a file without a state directory and prints nothing when it is valid", () => {
  const r = pfctl(["-nf", "-"], "pass all\n");
  assert.deepEqual(r, { stdout: "", stderr: "", code: 0 });
});

test("-P prints ports as numbers", () => {
  const r = pfctl(["-o", "none", "-nvPf", "-"], "pass in proto tcp to port https\n");
  assert.equal(r.stdout, "pass in proto tcp from any to any port = 443 flags S/SA keep state\n");
});

test("-vv numbers the rules", () => {
  const r = pfctl(["-nvvf", "-"], "block all\npass in all\n");
  assert.equal(r.stdout, "@0 block drop all\n@1 pass in all flags S/SA keep state\n");
});

test("a file that cannot be opened is reported with errno and the load refusal", () => {
  const r = pfctl(["-nf", "/nonexistent/pf.conf"], "");
  assert.equal(r.stderr, "pfctl: /nonexistent/pf.conf: No such file or directory\npfctl: cannot open the main config file!: No such file or directory\n");
  assert.equal(r.code, 1);
});

test("a missing table file names the file and errno", () => {
  const r = pfctl(["-nf", "-"], 'table <t> persist file "/nonexistent/addrs"\n');
  assert.equal(r.stderr, 'stdin:1: cannot load "/nonexistent/addrs": No such file or directory\n');
  assert.equal(r.code, 1);
});

test("an unknown option prints getopt's message and the usage", () => {
  const r = pfctl(["-Y"], "");
  assert.match(r.stderr, /^pfctl: illegal option -- Y\nusage: pfctl \[-AdeghMmNnOPqRSrvz\]/);
  assert.equal(r.code, 1);
});

test("an unknown show modifier is refused with the usage", () => {
  const r = pfctl(["-s", "bogus"], "");
  assert.match(r.stderr, /^pfctl: Unknown show modifier 'bogus'\nusage: /);
  assert.equal(r.code, 1);
});

test("without STEWARD_SIM_ROOT a command that needs the kernel fails loudly", () => {
  const r = pfctl(["-sr"], "");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^pfctl: \/dev\/pf: STEWARD_SIM_ROOT is not set/);
});
