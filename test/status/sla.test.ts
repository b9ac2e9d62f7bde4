/** Downtime against budgets (sla.ts): samples hold until the next, silence is downtime. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { accountDowntime, monthWindow, type Sample } from "../../agent/src/status/sla.js";

const H = 3_600_000;
const T = Date.UTC(2025, 0, 1);
const up = (at: number, hb = 900): Sample => ({ at, heartbeatSeconds: hb, services: [{ jail: "mail", service: "postfix", running: true }, { jail: "xmpp", service: "prosody", running: true }] });
const mailDown = (at: number, hb = 900): Sample => ({ at, heartbeatSeconds: hb, services: [{ jail: "mail", service: "postfix", running: false }, { jail: "xmpp", service: "prosody", running: true }] });
const services = [
  { service: "mail", node: "alpha", budgetSeconds: 3 * 86_400 },
  { service: "xmpp", node: "alpha", budgetSeconds: undefined },
];

test("a month window is its calendar month in UTC, cut at now", () => {
  assert.deepEqual(monthWindow("2025-01", Date.UTC(2026, 0, 1)), { start: T, end: Date.UTC(2025, 1, 1) });
  assert.deepEqual(monthWindow("2025-01", T + 5 * H), { start: T, end: T + 5 * H });
  assert.equal(monthWindow("2025-13", 0), undefined);
  assert.equal(monthWindow("25-01", 0), undefined);
});

test("a service is down while a report says one of its rc services is not running; others are not affected", () => {
  const samples: Sample[] = [];
  for (let t = T - 0.25 * H; t < T + 10 * H; t += 0.25 * H) samples.push(t >= T + 2 * H && t < T + 3 * H ? mailDown(t) : up(t));
  const [mail, xmpp] = accountDowntime(new Map([["alpha", samples]]), services, { start: T, end: T + 10 * H });
  assert.equal(mail?.downSeconds, 3600);
  assert.equal(mail?.unreportedSeconds, 0);
  assert.equal(mail?.leftSeconds, 3 * 86_400 - 3600);
  assert.equal(xmpp?.downSeconds, 0);
  assert.equal(xmpp?.leftSeconds, undefined, "no budget, nothing left to count");
});

test("silence longer than two heartbeats is downtime for every service of the node", () => {
  const samples = [up(T), up(T + 0.25 * H), up(T + 5 * H)];
  const [mail, xmpp] = accountDowntime(new Map([["alpha", samples]]), services, { start: T, end: T + 6 * H });
  // T+0.25h holds until T+0.75h; T+0.75h..T+5h is unreported; the last report covers T+5h..T+5.5h, then silence again.
  assert.equal(mail?.unreportedSeconds, Math.round(4.25 * 3600 + 0.5 * 3600));
  assert.equal(mail?.downSeconds, mail?.unreportedSeconds);
  assert.equal(xmpp?.downSeconds, mail?.downSeconds);
});

test("the report in force at the start of the month counts; time before a node's first report does not", () => {
  const before = accountDowntime(new Map([["alpha", [mailDown(T - H, 86_400), up(T + H, 86_400)]]]), services, { start: T, end: T + 2 * H });
  assert.equal(before[0]?.downSeconds, 3600, "down from the month's start until the report that says it runs");
  const newNode = accountDowntime(new Map([["alpha", [up(T + 5 * H, 86_400)]]]), services, { start: T, end: T + 6 * H });
  assert.deepEqual([newNode[0]?.downSeconds, newNode[0]?.observedSeconds], [0, 3600]);
});

test("an exceeded budget leaves a negative remainder; a node without reports is all unknown, not down", () => {
  const samples = [mailDown(T, 86_400 * 7)];
  const [mail] = accountDowntime(new Map([["alpha", samples]]), services, { start: T, end: T + 4 * 86_400 * 1000 });
  assert.equal(mail?.leftSeconds, -86_400);
  const [none] = accountDowntime(new Map(), services, { start: T, end: T + H });
  assert.deepEqual([none?.downSeconds, none?.observedSeconds], [0, 0]);
});
