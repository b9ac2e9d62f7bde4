/**
 * The documents the code and the docs point at exist, and so do the sections they name: every
 * `docs/<file>.md` mentioned anywhere in the repository, every `<file>.md, "Section"` citation
 * (a heading of that file), and every relative link of a Markdown file. And nothing cites the
 * design notes that do not ship with the repository.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "./helpers/cli.js";

const ROOTS = ["agent", "bench", "cluster-repo-template", "docs", "hooks", "schema", "scripts", "sim", "test", "README.md", "Makefile", "package.json"];

/** sources lists every text file of the repository that is not generated or installed. */
function sources(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (path: string): void => {
    const st = statSync(path);
    if (st.isDirectory()) {
      for (const name of readdirSync(path).sort()) if (name !== "node_modules" && name !== "build" && !name.startsWith(".")) walk(join(path, name));
      return;
    }
    if (st.size > 1024 * 1024) return;
    try {
      out.push({ path, text: new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path)) });
    } catch {
      // not text
    }
  };
  for (const r of ROOTS) if (existsSync(join(REPO_ROOT, r))) walk(join(REPO_ROOT, r));
  return out;
}

/** joined undoes comment line breaks (`\n * `, `\n // `, `\n# `) so a citation split over lines reads whole. */
function joined(text: string): string {
  return text.replace(/\n[ \t]*(?:\*|\/\/|#)?[ \t]*/g, " ");
}

/** headings lists a Markdown file's headings, with inline code marks removed. */
function headings(file: string): Set<string> {
  const found = new Set<string>();
  for (const m of readFileSync(file, "utf8").matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*$/gm)) found.add((m[1] ?? "").replaceAll("`", ""));
  return found;
}

/** target resolves a cited Markdown path: from the repository root when it names a folder, else next to the citing file, then at the root. */
function target(cited: string, from: string): string {
  if (cited.includes("/")) return resolve(REPO_ROOT, cited.replace(/^(\.\.\/)+/, ""));
  const sibling = join(dirname(from), cited);
  return existsSync(sibling) ? sibling : join(REPO_ROOT, cited);
}

// This file names the patterns it looks for; it is not a citation.
const files = sources().filter((f) => f.path !== join(REPO_ROOT, "test", "docs.test.ts"));
const where = (path: string): string => relative(REPO_ROOT, path);

test("every docs/*.md the repository mentions exists", () => {
  const missing: string[] = [];
  for (const f of files) {
    for (const m of f.text.matchAll(/\bdocs\/([\w.-]+\.md)\b/g)) {
      if (!existsSync(join(REPO_ROOT, "docs", m[1] ?? ""))) missing.push(`${where(f.path)}: docs/${m[1]}`);
    }
  }
  assert.deepEqual(missing, []);
  assert.ok(files.some((f) => f.path.endsWith(join("docs", "architecture.md"))), "docs/architecture.md is scanned too");
});

test('every `FILE.md, "Section"` citation names a heading of that file', () => {
  const bad: string[] = [];
  let count = 0;
  for (const f of files) {
    for (const m of joined(f.text).matchAll(/([\w./-]*\w\.md)\)?,\s+"([^"\n]+)"/g)) {
      const [cited, section] = [m[1] ?? "", m[2] ?? ""];
      const file = target(cited, f.path);
      count++;
      if (!existsSync(file)) bad.push(`${where(f.path)}: ${cited} does not exist`);
      else if (!headings(file).has(section)) bad.push(`${where(f.path)}: ${cited} has no heading "${section}"`);
    }
  }
  assert.deepEqual(bad, []);
  assert.ok(count > 10, `only ${count} citations found: the pattern no longer matches how the code cites`);
});

test("every relative link of a Markdown file leads to a file", () => {
  const bad: string[] = [];
  for (const f of files.filter((x) => x.path.endsWith(".md"))) {
    for (const m of f.text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = (m[1] ?? "").split("#")[0] ?? "";
      if (link === "" || /^[a-z]+:/.test(link)) continue;
      if (!existsSync(resolve(dirname(f.path), link))) bad.push(`${where(f.path)}: ${m[1]}`);
    }
  }
  assert.deepEqual(bad, []);
});

test("nothing cites the design notes that do not ship (ARCHITECTURE.md, STYLE.md, git.md, freebsd.md, ../shared)", () => {
  const bad: string[] = [];
  for (const f of files) {
    for (const m of f.text.matchAll(/ARCHITECTURE\.md|STYLE\.md|(?<![\w/-])(?:git|freebsd)\.md\b|\.\.\/shared\b|\/work\/shared/g)) bad.push(`${where(f.path)}: ${m[0]}`);
  }
  assert.deepEqual(bad, []);
});
