/**
 * The FreeBSD tool simulator (sim/README.md) for a test: a fresh STEWARD_SIM_ROOT and the
 * simulated jail, jls, jexec, sysrc, pkg, service and pfctl first on PATH, for this process and
 * the commands it starts. Tests call useSimulator() in `before` and its cleanup in `after`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./cli.js";

/** The directory of the simulated tools (written by the build). */
export const SIM_BIN = join(REPO_ROOT, "build", "sim", "bin");

export interface Simulator {
  /** STEWARD_SIM_ROOT. */
  readonly root: string;
  /** Sets fault switches (sim/README.md), e.g. { pkgInstallFail: ["mail:postfix"] }. */
  faults(faults: Readonly<Record<string, unknown>>): void;
  close(): void;
}

/** useSimulator points this process (and its children) at a new simulated FreeBSD host. */
export function useSimulator(): Simulator {
  const root = mkdtempSync(join(tmpdir(), "steward-sim-"));
  const before = { path: process.env["PATH"], root: process.env["STEWARD_SIM_ROOT"] };
  process.env["PATH"] = `${SIM_BIN}:${process.env["PATH"] ?? "/usr/bin:/bin"}`;
  process.env["STEWARD_SIM_ROOT"] = root;
  return {
    root,
    faults(faults) {
      writeFileSync(join(root, "faults.json"), `${JSON.stringify(faults, null, 2)}\n`);
    },
    close() {
      if (before.path === undefined) delete process.env["PATH"];
      else process.env["PATH"] = before.path;
      if (before.root === undefined) delete process.env["STEWARD_SIM_ROOT"];
      else process.env["STEWARD_SIM_ROOT"] = before.root;
      rmSync(root, { recursive: true, force: true });
    },
  };
}
