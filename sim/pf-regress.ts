/**
 * The regression runner for the pfctl simulator: for every pfNNNN.in beside a pfNNNN.ok in the
 * directory given (FreeBSD's sbin/pfctl/tests/files, fetched separately; none are committed here),
 * runs `pfctl -o none -nvf - < pfNNNN.in` in that directory, as the FreeBSD test does, and diffs
 * stdout with the .ok file. Prints one line per case and "N passed, N failed"; --self also feeds
 * each .ok back in (the "selfpf" cases). Exit 1 when any case fails.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runPfctl } from "./pfctl.js";

const args = process.argv.slice(2);
const self = args.includes("--self");
const verbose = args.includes("--diff");
const dir = args.find((a) => !a.startsWith("--"));
if (!dir) {
  process.stderr.write("usage: node build/sim/pf-regress.js DIR [--self] [--diff]\n");
  process.exit(2);
}
let pass = 0;
let fail = 0;
const names = fs.readdirSync(dir).filter((f) => /^pf\d+\.in$/.test(f)).sort();
for (const f of names) {
  const base = f.slice(0, -3);
  const okFile = path.join(dir, `${base}.ok`);
  if (!fs.existsSync(okFile)) continue;
  const want = fs.readFileSync(okFile, "utf8");
  const inputs: [string, string][] = [[base, fs.readFileSync(path.join(dir, f), "utf8")]];
  if (self) inputs.push([`self${base}`, want]);
  for (const [label, input] of inputs) {
    const env = { ...process.env };
    delete env["STEWARD_SIM_ROOT"];
    const r = runPfctl(["-o", "none", "-nvf", "-"], { env, cwd: dir, stdin: () => input });
    if (r.stdout === want && r.code === 0) {
      pass++;
      console.log(`ok   ${label}`);
    } else {
      fail++;
      console.log(`FAIL ${label} (exit ${r.code})`);
      if (verbose) {
        const a = want.split("\n");
        const b = r.stdout.split("\n");
        for (let i = 0; i < Math.max(a.length, b.length); i++)
          if (a[i] !== b[i]) console.log(`  line ${i + 1}\n    want: ${a[i] ?? "<none>"}\n    got:  ${b[i] ?? "<none>"}`);
        if (r.stderr) console.log("  stderr: " + r.stderr.trim().split("\n").join("\n          "));
      }
    }
  }
}
console.log(`${pass} passed, ${fail} failed`);
process.exitCode = fail ? 1 : 0;
