/**
 * How long validating a large cluster repo takes, against what an admin would otherwise run.
 *
 * Generates a repo of 10 nodes and 500 services (each with datasets, files, exposed ports and
 * routes to other services) in a temporary directory, then measures, as medians:
 * - in-process: readSnapshotFromDir + loadModel, against reading the same manifests and running
 *   a plain `yaml` parse + ajv validation with the same schemas (no positions, no semantic checks);
 * - whole CLI: `steward validate DIR` as a new process, against a `node -e` that only reads and
 *   parses the same YAML files with the yaml package (process start included in both).
 * Prints `BENCH <name> steward=<ms>ms baseline=<what>:<ms>ms ratio=<baseline/steward>`.
 * Exits 1 if the generated repo does not validate (the numbers would mean nothing).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { parse } from "yaml";
import clusterSchema from "../schema/cluster.schema.json" with { type: "json" };
import commonSchema from "../schema/common.schema.json" with { type: "json" };
import nodeSchema from "../schema/node.schema.json" with { type: "json" };
import serviceSchema from "../schema/service.schema.json" with { type: "json" };
import { loadModel } from "../agent/src/manifest/load.js";
import { readSnapshotFromDir } from "../agent/src/source/dir.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI_MAIN = join(REPO_ROOT, "build/agent/src/cli/main.js");
const NODES = 10;
const SERVICES = 500;
const IN_PROCESS_RUNS = 9;
const CLI_RUNS = 5;

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020, formats: string[]) => Ajv2020;

/** generateRepo writes the cluster repo and returns the number of files written. */
function generateRepo(dir: string): number {
  let files = 0;
  const write = (path: string, text: string): void => {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
    files++;
  };
  write(
    "cluster.yaml",
    "domain: home.arpa\nnetwork:\n  jails: 10.17.0.0/16\n  protect: [192.168.1.0/24]\ndefaults:\n  release: 14.2-RELEASE\n  drift: correct\n  datasets: { compression: lz4, atime: \"off\" }\n",
  );
  for (let n = 0; n < NODES; n++) {
    write(`nodes/node${n}.yaml`, `# Node ${n}.\narch: ${n % 3 === 0 ? "arm64" : "amd64"}\npool: zroot\ninterface: em${n % 4}\naddress: 192.168.1.${10 + n}\n`);
  }
  for (let i = 0; i < SERVICES; i++) {
    const name = `svc${String(i).padStart(3, "0")}`;
    const peer = `svc${String((i + 7) % SERVICES).padStart(3, "0")}`;
    const other = `svc${String((i + 131) % SERVICES).padStart(3, "0")}`;
    write(`files/${name}/app.conf`, `# config of ${name}\nlisten 0.0.0.0:${10000 + i}\n`);
    write(`files/${name}/rc.local`, `#!/bin/sh\necho ${name}\n`);
    write(
      `services/${name}.yaml`,
      [
        `# Service ${i}: an app with its data and a cache.`,
        `node: node${i % NODES}`,
        "jail:",
        `  ip: 10.17.${1 + Math.floor(i / 200)}.${1 + (i % 200)}`,
        "  packages: [nginx, py311-app, sqlite3]",
        "  services: [nginx, app]",
        `  rc: { nginx_enable: "YES", app_enable: "YES", app_flags: "-p ${10000 + i}" }`,
        "datasets:",
        "  data: { mount: /var/db/app, quota: 10G, recordsize: 16K }",
        "  cache: { mount: /var/cache/app, quota: 1G, \"org.example:backup\": \"no\" }",
        "files:",
        `  /usr/local/etc/app.conf: { from: files/${name}/app.conf, mode: "0640", owner: "root:www", restart: [app] }`,
        `  /etc/rc.local: { from: files/${name}/rc.local, mode: "0755" }`,
        `expose: [${10000 + i}/tcp, ${20000 + i}/udp]`,
        `routes: [dns, web, ${peer}:${10000 + ((i + 7) % SERVICES)}/tcp, ${other}:5432/tcp, internet:25/tcp]`,
        "",
      ].join("\n"),
    );
  }
  return files;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

async function timeAsync(runs: number, fn: () => Promise<void>): Promise<number> {
  await fn(); // warm-up: module loading, JIT, ajv compilation happen once per process in both
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

function timeProcess(runs: number, args: readonly string[]): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: "utf8", timeout: 120_000 });
    times.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`${args.slice(0, 2).join(" ")} exited ${String(r.status)}: ${r.stderr.slice(0, 2000)}`);
  }
  return median(times);
}

/** The baseline's reading: every .yaml file under the repo, as a plain walk would find it. */
function readManifests(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [{ path: "cluster.yaml", text: readFileSync(join(dir, "cluster.yaml"), "utf8") }];
  for (const sub of ["nodes", "services"]) {
    for (const f of readdirSync(join(dir, sub)).sort()) if (f.endsWith(".yaml")) out.push({ path: `${sub}/${f}`, text: readFileSync(join(dir, sub, f), "utf8") });
  }
  return out;
}

function line(name: string, steward: number, baselineName: string, baseline: number): string {
  return `BENCH ${name} steward=${steward.toFixed(1)}ms baseline=${baselineName}:${baseline.toFixed(1)}ms ratio=${(baseline / steward).toFixed(2)}`;
}

const dir = mkdtempSync(join(tmpdir(), "steward-bench-validate-"));
try {
  const files = generateRepo(dir);

  const check = loadModel(await readSnapshotFromDir(dir));
  if (check.model === undefined || check.model.services.length !== SERVICES) {
    console.error(`the generated repo does not validate: ${JSON.stringify(check.diagnostics.slice(0, 5), null, 2)}`);
    process.exitCode = 1;
  } else {
    const steward = await timeAsync(IN_PROCESS_RUNS, async () => {
      const r = loadModel(await readSnapshotFromDir(dir));
      if (r.model === undefined) throw new Error("the repo stopped validating");
    });

    const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    addFormats(ajv, ["ipv4"]);
    ajv.addSchema(commonSchema);
    const validators: Record<string, ValidateFunction> = { cluster: ajv.compile(clusterSchema), nodes: ajv.compile(nodeSchema), services: ajv.compile(serviceSchema) };
    const baseline = await timeAsync(IN_PROCESS_RUNS, async () => {
      for (const { path, text } of readManifests(dir)) {
        const validate = validators[path === "cluster.yaml" ? "cluster" : (path.split("/")[0] ?? "")];
        if (validate === undefined || !validate(parse(text))) throw new Error(`baseline rejected ${path}`);
      }
    });

    const cli = timeProcess(CLI_RUNS, [CLI_MAIN, "validate", dir]);
    const parseOnly = [
      "const fs = require('node:fs'), path = require('node:path'), YAML = require('yaml');",
      "const dir = process.argv[1];",
      "const files = ['cluster.yaml', ...['nodes', 'services'].flatMap((d) => fs.readdirSync(path.join(dir, d)).filter((f) => f.endsWith('.yaml')).map((f) => d + '/' + f))];",
      "for (const f of files) YAML.parse(fs.readFileSync(path.join(dir, f), 'utf8'));",
      "console.log(files.length + ' files parsed');",
    ].join("\n");
    const cliBaseline = timeProcess(CLI_RUNS, ["-e", parseOnly, dir]);

    console.log(`# ${NODES} nodes, ${SERVICES} services, ${files} files; medians of ${IN_PROCESS_RUNS} in-process and ${CLI_RUNS} process runs`);
    console.log(line("validate-500", steward, "yaml+ajv", baseline));
    console.log(line("validate-500-cli", cli, "node-yaml-parse", cliBaseline));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
