/**
 * The FreeBSD tool simulator (sim/README.md) for a test: a fresh STEWARD_SIM_ROOT and the
 * simulated jail, jls, jexec, sysrc, pkg, service and pfctl first on PATH, for this process and
 * the commands it starts. Tests call useSimulator() in `before` and its cleanup in `after`.
 */
import { spawnSync } from "node:child_process";
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

/**
 * The /etc/pf.conf of a node set up as docs/network.md says: it calls Steward's anchor, and
 * its own rules keep the admins' ssh.
 */
export const NODE_PF_CONF = 'nat-anchor "steward"\nrdr-anchor "steward"\nblock drop log all\npass in on em0 inet proto tcp from any to (em0) port 2222 keep state\nanchor "steward"\npass out on em0 inet from (em0) keep state\n';

/**
 * useSimulator points this process (and its children) at a new simulated FreeBSD host. Its pf
 * runs NODE_PF_CONF, enabled, as on a node set up for Steward; `pf: "bare"` leaves pf empty
 * and disabled, as on a fresh install.
 */
export function useSimulator(options: { readonly pf?: "node" | "bare" } = {}): Simulator {
  const root = mkdtempSync(join(tmpdir(), "steward-sim-"));
  const before = { path: process.env["PATH"], root: process.env["STEWARD_SIM_ROOT"] };
  process.env["PATH"] = `${SIM_BIN}:${process.env["PATH"] ?? "/usr/bin:/bin"}`;
  process.env["STEWARD_SIM_ROOT"] = root;
  if (options.pf !== "bare") {
    for (const args of [["-f", "-"], ["-e"]]) {
      const r = spawnSync(join(SIM_BIN, "pfctl"), args, { input: NODE_PF_CONF, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`the simulated pfctl ${args.join(" ")} failed: ${r.stderr}`);
    }
  }
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
