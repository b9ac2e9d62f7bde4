/**
 * Who is running a simulated tool, and where its "/" is. On the host, "/" is
 * `$STEWARD_SIM_ROOT/host` for the tools' default files (/etc/rc.conf, /etc/jail.conf,
 * /var/db/pkg, /usr/local/etc/rc.d); paths given on the command line are real Linux paths.
 * Inside a jail (a tool started through jexec, or exec.start), "/" is the jail's path, a real
 * directory, and the variable STEWARD_SIM_JAIL holds the jid, as jail_attach(2) would.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Io } from "./io.js";
import { readState, SimConfigError, simRoot, type SimJail } from "./state.js";

export interface Ctx {
  /** The program name for messages (`jail`, or `sh` for sysrc re-run through sh(1)). */
  readonly prog: string;
  readonly sim: string;
  readonly io: Io;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** 0 on the host, else the jail this process is attached to. */
  readonly jid: number;
  readonly cwd: string;
}

export const JAIL_ENV = "STEWARD_SIM_JAIL";

/** makeCtx builds the context of a tool started as a process. Throws SimConfigError without STEWARD_SIM_ROOT. */
export function makeCtx(prog: string, io: Io, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Ctx {
  const sim = simRoot(env);
  const raw = env[JAIL_ENV];
  const jid = raw === undefined || raw === "" ? 0 : Number.parseInt(raw, 10);
  if (!Number.isInteger(jid) || jid < 0) throw new SimConfigError(`${JAIL_ENV}=${raw} is not a jid`);
  return { prog, sim, io, env, jid, cwd };
}

/** hostRoot is the directory standing for the simulated host's "/". */
export function hostRoot(sim: string): string {
  const r = join(sim, "host");
  mkdirSync(r, { recursive: true });
  return r;
}

/** currentJail returns the jail this context is attached to, or undefined on the host. Throws when that jail is gone. */
export function currentJail(ctx: Ctx): SimJail | undefined {
  if (ctx.jid === 0) return undefined;
  const j = readState(ctx.sim).jails.find((x) => x.jid === ctx.jid);
  if (j === undefined) throw new SimConfigError(`the jail this process was attached to (jid ${ctx.jid}) no longer exists`);
  return j;
}

/** fsRoot is the real directory standing for this context's "/". */
export function fsRoot(ctx: Ctx): string {
  return currentJail(ctx)?.path ?? hostRoot(ctx.sim);
}

/** under maps an absolute FreeBSD path to the real file under `root` ("/" maps to root itself). */
export function under(root: string, freebsdPath: string): string {
  return freebsdPath === "/" ? root : join(root, freebsdPath);
}

/** withCtx derives a context for the same process attached elsewhere or speaking as another program. */
export function withCtx(ctx: Ctx, change: Partial<Ctx>): Ctx {
  return { ...ctx, ...change };
}
