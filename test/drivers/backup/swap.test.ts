/**
 * The swap planner (drivers/backup/swap.ts): the order of a swap's steps, what undoes each, and
 * what it refuses. Pure: no host.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLocalProperties, planSwap, replacedName, undoSteps, type SwapDataset } from "../../../agent/src/drivers/backup/swap.js";

const live = "tank/steward/data/mail/mail";
const restored = "tank/steward/restore/mail/mail-20261207T101112Z";
const replaced = replacedName(restored);
const mail = (properties: Record<string, string>, children: string[] = [], mounted = true): SwapDataset => ({ live, restored, replaced, properties, children, mounted });
const jail = { name: "mail", confPath: "/etc/jail.conf.d/mail.conf" };

test("the live dataset is kept beside its restore, named after it", () => {
  assert.equal(replacedName(restored), "tank/steward/restore/mail/mail-replaced-20261207T101112Z");
});

test("a swap stops the jail, unmounts the live dataset and moves it aside (mountpoint none), moves the restore in, gives it the live properties with the mountpoint last, mounts it, starts the jail", () => {
  const steps = planSwap([mail({ mountpoint: "/jails/mail/var/mail", compression: "gzip", "org.steward:managed": "yes" })], jail);
  assert.ok(Array.isArray(steps));
  assert.deepEqual(
    steps.map((s) => s.argv.join(" ")),
    [
      "jail -f /etc/jail.conf.d/mail.conf -r mail",
      `zfs umount ${live}`,
      `zfs rename ${live} ${replaced}`,
      `zfs set mountpoint=none ${replaced}`,
      `zfs rename ${restored} ${live}`,
      `zfs set org.steward:managed=yes ${live}`,
      `zfs set compression=gzip ${live}`,
      `zfs set mountpoint=/jails/mail/var/mail ${live}`,
      `zfs mount ${live}`,
      "jail -f /etc/jail.conf.d/mail.conf -c mail",
    ],
  );
  // Failing at the last step (the jail does not start) takes everything back, last first; an
  // unmount or mount whose work is done already is no failure.
  assert.deepEqual(
    undoSteps(steps, steps.length - 1).map((c) => [c.argv.join(" "), c.already ?? ""]),
    [
      [`zfs set mountpoint=none ${live}`, ""],
      [`zfs umount ${live}`, "not currently mounted"],
      [`zfs rename ${live} ${restored}`, ""],
      [`zfs set mountpoint=/jails/mail/var/mail ${replaced}`, ""],
      [`zfs umount ${replaced}`, "not currently mounted"],
      [`zfs rename ${replaced} ${live}`, ""],
      [`zfs mount ${live}`, "filesystem already mounted"],
      ["jail -f /etc/jail.conf.d/mail.conf -c mail", ""],
    ],
  );
  assert.deepEqual(undoSteps(steps, 0), [], "nothing ran, nothing to undo");
});

test("a jail that is not running is neither stopped nor started; an inherited mountpoint needs no setting; an unmounted dataset is swapped unmounted", () => {
  const steps = planSwap([mail({}, [], false)], undefined);
  assert.ok(Array.isArray(steps));
  assert.deepEqual(
    steps.map((s) => s.argv.join(" ")),
    [`zfs rename ${live} ${replaced}`, `zfs rename ${restored} ${live}`],
  );
});

test("a live dataset with datasets below it is refused, naming them", () => {
  const refused = planSwap([mail({}, [`${live}/queue`])], jail);
  assert.equal(typeof refused, "string");
  assert.match(refused as string, /mail\/mail\/queue.*swap by hand/);
});

test("local properties read from zfs get -Hp -s local -o property,value; values keep their spaces and tabs", () => {
  assert.deepEqual(parseLocalProperties("mountpoint\t/jails/mail/var/mail\norg.steward:note\ta b\tc\n\n"), { mountpoint: "/jails/mail/var/mail", "org.steward:note": "a b\tc" });
});
