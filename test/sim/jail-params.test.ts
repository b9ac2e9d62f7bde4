/** Jail parameter values as libjail imports them: table-driven. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { importParam, inet6, lookupParam } from "../../sim/jail-params.js";

for (const c of [
  { name: "persist", value: null, want: { ok: true, name: "persist", value: "true" } },
  { name: "nopersist", value: null, want: { ok: true, name: "persist", value: "false" } },
  { name: "allow.noraw_sockets", value: null, want: { ok: true, name: "allow.raw_sockets", value: "false" } },
  { name: "persist", value: "FALSE", want: { ok: true, name: "persist", value: "false" } },
  { name: "persist", value: "maybe", want: { ok: false, message: 'persist: unknown boolean value "maybe"' } },
  { name: "vnet", value: null, want: { ok: true, name: "vnet", value: "new" } },
  { name: "vnet", value: "inherit", want: { ok: true, name: "vnet", value: "inherit" } },
  { name: "vnet", value: "yes", want: { ok: false, message: 'vnet: unknown jailsys value "yes"' } },
  { name: "securelevel", value: "3", want: { ok: true, name: "securelevel", value: "3" } },
  { name: "securelevel", value: "high", want: { ok: false, message: 'securelevel: non-integer value "high"' } },
  { name: "ip4.addr", value: "10.0.0.1,10.0.0.2", want: { ok: true, name: "ip4.addr", value: ["10.0.0.1", "10.0.0.2"] } },
  { name: "ip4.addr", value: "010.0.0.1", want: { ok: false, message: "ip4.addr: not an IPv4 address: 010.0.0.1" } },
  { name: "ip6.addr", value: "2001:DB8:0:0:0:0:0:1", want: { ok: true, name: "ip6.addr", value: ["2001:db8::1"] } },
  { name: "nosuch", value: "1", want: { ok: false, message: "unknown parameter: nosuch" } },
  { name: "cpuset.id", value: "1", want: { ok: false, message: "unknown parameter: cpuset.id" } },
]) {
  test(`${c.name}${c.value === null ? "" : `=${c.value}`} imports as libjail would`, () => assert.deepEqual(importParam(c.name, c.value), c.want));
}

test("IPv6 addresses print as inet_ntop does: the longest run of zero groups as ::", () => {
  assert.equal(inet6("fe80:0:0:1:0:0:0:1"), "fe80:0:0:1::1");
  assert.equal(inet6("::ffff:c000:201"), "::ffff:192.0.2.1");
  assert.equal(inet6("2001:db8::"), "2001:db8::");
  assert.equal(inet6("nope"), undefined);
});

test("only booleans take the no prefix", () => {
  assert.equal(lookupParam("nosecurelevel"), undefined);
  assert.equal(lookupParam("allow.mount.nozfs")?.spec.name, "allow.mount.zfs");
});
