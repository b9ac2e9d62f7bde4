/**
 * The facts behind a source problem, as lines for people: what the one-line message cannot
 * hold. Pure: a problem in, lines out (the caller indents them). JSON output carries the same
 * facts in `data`; this only reads the fields the source step documents:
 * - SOURCE_TRUST_INVALID: `origin` ("bootstrap" or the commit), `file`, `problems` [{line, message}];
 * - SOURCE_UNTRUSTED, SOURCE_BAD_SIGNATURE: `signer` {type, fingerprint}, `trust`, `trustFile`,
 *   `trusted` [{line, principals, type, fingerprint}], `trustedCount`;
 * - failures of ssh: `ssh`, the line of ssh's stderr that told (ssh-failure.ts).
 */
import type { SourceProblem } from "./choose.js";

/** describeProblem returns the detail lines of a problem; none when its message says it all. Never throws. */
export function describeProblem(p: SourceProblem): string[] {
  const d = p.data;
  const lines: string[] = [];
  const lineProblems = records(d["problems"]).filter((x) => typeof x["line"] === "number" && typeof x["message"] === "string");
  if (p.code === "SOURCE_TRUST_INVALID" && lineProblems.length > 0) {
    lines.push(`in ${trustLabel(d["origin"], d["file"])}:`);
    for (const x of lineProblems) lines.push(`  line ${String(x["line"])}: ${String(x["message"])}`);
  }
  if (p.code === "SOURCE_UNTRUSTED" || p.code === "SOURCE_BAD_SIGNATURE") {
    const signer = record(d["signer"]);
    if (signer === undefined) {
      if ("signer" in d) lines.push("signed with: a key the signature does not name readably");
    } else if (!p.message.includes(String(signer["fingerprint"]))) {
      lines.push(`signed with: ${String(signer["type"])} ${String(signer["fingerprint"])}`);
    }
    const trusted = records(d["trusted"]);
    if ("trusted" in d) {
      const label = trustLabel(d["trust"], d["trustFile"]);
      if (trusted.length === 0) lines.push(`${label} lists no key`);
      else {
        lines.push(`${label} lists:`);
        const width = Math.max(...trusted.map((t) => String(t["principals"]).length));
        for (const t of trusted) lines.push(`  ${String(t["principals"]).padEnd(width)}  ${String(t["type"])} ${String(t["fingerprint"])}  (line ${String(t["line"])})`);
        const count = typeof d["trustedCount"] === "number" ? d["trustedCount"] : trusted.length;
        if (count > trusted.length) lines.push(`  and ${count - trusted.length} more`);
      }
    }
  }
  if (typeof d["ssh"] === "string" && d["ssh"] !== "") lines.push(`ssh: ${d["ssh"]}`);
  // Principals and messages come from files and servers; a terminal gets none of their control characters.
  // eslint-disable-next-line no-control-regex
  return lines.map((l) => l.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?"));
}

/** How a trust file is named: the bootstrap file's path, or the repo path at a commit. */
function trustLabel(origin: unknown, file: unknown): string {
  const f = typeof file === "string" ? file : "the trust file";
  if (origin === "bootstrap") return `the bootstrap trust file ${f}`;
  return typeof origin === "string" ? `${f} at commit ${origin.slice(0, 12)}` : f;
}

function record(v: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function records(v: unknown): Readonly<Record<string, unknown>>[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((x: unknown) => {
    const r = record(x);
    return r === undefined ? [] : [r];
  });
}
