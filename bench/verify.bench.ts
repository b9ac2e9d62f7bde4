/**
 * Signature verification cost: 1,000 commits signed by native git (`gpg.format=ssh`, one
 * ed25519 key), checked by verifyCommitSignature in process against the ssh-keygen path
 * (find-principals + verify per commit, as Steward did before) in the same run. Also prints,
 * as a comment, the whole verifyChain walk over the same history in process.
 * Prints one line per figure:
 *   BENCH verify-1000-signatures steward=180.2ms baseline=ssh-keygen:15000.0ms ratio=83.24
 * steward: median of RUNS in-process runs after one warm-up run; baseline: one run (2,000
 * processes). ratio = baseline / steward (above 1: Steward is faster). Exits 1 when a verdict
 * is not good (the numbers would mean nothing).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { verifyCommitSignature } from "../agent/src/source/signature.js";
import { verifyChain } from "../agent/src/source/verify.js";
import { WorkRepo, git, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners } from "../test/helpers/keys.js";

const COMMITS = 1_000;
const RUNS = 5;
const START = 1_700_000_000;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function line(name: string, steward: number, baseline: number): string {
  return `BENCH ${name} steward=${steward.toFixed(1)}ms baseline=ssh-keygen:${baseline.toFixed(1)}ms ratio=${(baseline / steward).toFixed(2)}`;
}

async function main(): Promise<void> {
  const dir = makeTempDir("steward-bench-verify-");
  try {
    const key = makeKey(join(dir, "keys"), "admin");
    const trust = writeAllowedSigners(join(dir, "allowed_signers"), [{ principal: "admin@cluster", key }]);
    const work = WorkRepo.create(join(dir, "work"));
    work.write("trust/allowed_signers", `admin@cluster namespaces="git" ${key.publicLine}\n`).write("cluster.yaml", "domain: home.arpa\n");
    const root = work.commit("root", { signer: key, date: `@${START} +0000` });
    // Setup, not measured: one `git commit-tree -S` (and so one ssh-keygen -Y sign) per commit.
    const tree = git(work.dir, ["rev-parse", `${root}^{tree}`]);
    const oids: string[] = [];
    let parent = root;
    for (let i = 1; i <= COMMITS; i++) {
      const date = `@${START + i * 60} +0000`;
      parent = git(work.dir, ["-c", "gpg.format=ssh", "-c", `user.signingkey=${key.private}`, "commit-tree", "-S", "-p", parent, "-m", `change ${i}`, tree], { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date });
      oids.push(parent);
    }
    git(work.dir, ["update-ref", "refs/heads/main", parent]);
    const gitdir = makeBare(join(dir, "state", "source", "repo.git"));
    work.push(gitdir);
    const batch = execFileSync("git", ["cat-file", "--batch"], { cwd: work.dir, input: `${oids.join("\n")}\n`, maxBuffer: 64 * 1024 * 1024 });
    const raws = splitBatch(batch);
    const tmpDir = join(dir, "tmp");

    const verifyAll = async (sshKeygenOnly: boolean): Promise<number> => {
      const started = performance.now();
      for (const raw of raws) {
        const v = await verifyCommitSignature(raw, trust, { tmpDir, sshKeygenOnly });
        if (!v.ok) throw new Error(`a commit did not verify: ${v.code} ${v.reason}`);
      }
      return performance.now() - started;
    };
    await verifyAll(false);
    const inProcess: number[] = [];
    for (let i = 0; i < RUNS; i++) inProcess.push(await verifyAll(false));
    const sshKeygen = await verifyAll(true);

    const chainAll = async (sshKeygenOnly = false): Promise<number> => {
      const started = performance.now();
      const v = await verifyChain(parent, root, { gitdir, cache: {}, stateDir: join(dir, "state"), bootstrapTrust: trust, now: (START + COMMITS * 60 + 3600) * 1000, sshKeygenOnly });
      if (!v.ok || v.commits !== COMMITS) throw new Error(`the chain did not verify: ${JSON.stringify(v)}`);
      return performance.now() - started;
    };
    await chainAll();
    const chain: number[] = [];
    for (let i = 0; i < RUNS; i++) chain.push(await chainAll());
    const chainSshKeygen = await chainAll(true);

    console.log(`# ${COMMITS} commits signed by git with an ed25519 key; medians of ${RUNS} in-process runs, one ssh-keygen run`);
    // The chain also reads each commit and its trust file from the object store (isomorphic-git).
    console.log(line(`verify-chain-${COMMITS}`, median(chain), chainSshKeygen));
    console.log(line(`verify-${COMMITS}-signatures`, median(inProcess), sshKeygen));
  } finally {
    removeDir(dir);
  }
}

/** The objects of a `git cat-file --batch` answer, in order. */
function splitBatch(out: Buffer): Buffer[] {
  const objects: Buffer[] = [];
  for (let at = 0; at < out.length; ) {
    const nl = out.indexOf(0x0a, at);
    const size = Number(out.subarray(at, nl).toString("latin1").split(" ")[2]);
    objects.push(out.subarray(nl + 1, nl + 1 + size));
    at = nl + 1 + size + 1;
  }
  return objects;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
