/**
 * YAML with source positions. Pure: text in, value and diagnostics out.
 *
 * The cluster repo is YAML 1.2 (`off` and `yes` are strings). What YAML allows but a manifest
 * must not have is an error here: duplicate keys, anchors and aliases (they make files hard to
 * read and are the classic expansion bomb), explicit tags other than `!!str`, keys that are
 * not plain scalars, and more than one document per file.
 */
import { isAlias, isCollection, isMap, isScalar, isSeq, parseDocument, visit, type Document, type Node } from "yaml";
import type { Diagnostic, Where } from "../errors.js";

export type PathSegment = string | number;

/** A parsed manifest file: its plain value and what is needed to point back into the text. */
export interface ParsedFile {
  readonly file: string;
  /** The plain JavaScript value (objects, arrays, strings, numbers, booleans, null). */
  readonly value: unknown;
  readonly doc: Document.Parsed;
  /** Offset of the first character of each line. */
  readonly lineStarts: readonly number[];
}

/** The largest manifest file accepted; a closet cluster's biggest service is a few KiB. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * parseYaml parses one manifest file. Returns the file (possibly with a partial value) and every
 * YAML problem found, each as MANIFEST_YAML with a position. Never throws.
 */
export function parseYaml(file: string, text: string): { parsed: ParsedFile; diagnostics: Diagnostic[] } {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, strict: true });
  const lineStarts = findLineStarts(text);
  const diagnostics: Diagnostic[] = [];
  const at = (offset: number): Where => ({ file, ...linePosition(lineStarts, offset) });
  for (const e of [...doc.errors, ...doc.warnings]) {
    diagnostics.push({
      code: "MANIFEST_YAML",
      severity: "error",
      message: firstLine(e.message),
      where: at(e.pos[0]),
      hint: YAML_HINTS[e.code] ?? "fix the YAML syntax at this place",
    });
  }
  visit(doc, {
    Alias(_key, node) {
      diagnostics.push({ code: "MANIFEST_YAML", severity: "error", message: `alias *${node.source} is not allowed`, where: at(node.range?.[0] ?? 0), hint: "write the value out in full; manifests do not use anchors or aliases" });
    },
    Node(_key, node) {
      if ((isScalar(node) || isCollection(node)) && node.anchor !== undefined) {
        diagnostics.push({ code: "MANIFEST_YAML", severity: "error", message: `anchor &${node.anchor} is not allowed`, where: at(node.range?.[0] ?? 0), hint: "remove the anchor; manifests do not use anchors or aliases" });
      }
      if ((isScalar(node) || isCollection(node)) && node.tag !== undefined && node.tag !== "tag:yaml.org,2002:str") {
        diagnostics.push({ code: "MANIFEST_YAML", severity: "error", message: `tag ${node.tag} is not allowed`, where: at(node.range?.[0] ?? 0), hint: "remove the tag; quote the value if it must be a string" });
      }
    },
    Pair(_key, pair) {
      const k = pair.key;
      if (k !== null && !isScalar(k) && !isAlias(k)) {
        const node = k as Node;
        diagnostics.push({ code: "MANIFEST_YAML", severity: "error", message: "a key must be a plain name, not a list or a map", where: at(node.range?.[0] ?? 0), hint: "use a plain scalar key" });
      }
    },
  });
  let value: unknown = null;
  if (!diagnostics.some((d) => d.message.includes("alias") || d.message.includes("key must be"))) {
    try {
      value = doc.toJS({ maxAliasCount: 0 });
    } catch (e) {
      diagnostics.push({ code: "MANIFEST_YAML", severity: "error", message: firstLine(e instanceof Error ? e.message : String(e)), where: { file, line: 1, column: 1 }, hint: "fix the YAML so it can be read as plain data" });
    }
  }
  return { parsed: { file, value, doc, lineStarts }, diagnostics };
}

/**
 * locate finds where a value (or, with `key`, one of its keys) is written. Pure. Falls back to
 * the nearest enclosing node that exists, then to the start of the file.
 */
export function locate(parsed: ParsedFile, path: readonly PathSegment[], key?: string): Where {
  let node: unknown = parsed.doc.contents;
  let offset = startOf(node) ?? 0;
  for (const segment of path) {
    const next = childOf(node, segment);
    if (next === undefined) break;
    node = next.value;
    offset = startOf(next.value) ?? startOf(next.key) ?? offset;
  }
  if (key !== undefined) {
    const pair = childOf(node, key);
    if (pair !== undefined) offset = startOf(pair.key) ?? offset;
  }
  return { file: parsed.file, ...linePosition(parsed.lineStarts, offset) };
}

// The yaml package's LineCounter misses newlines inside tokens it skips while recovering from
// a syntax error, so positions are computed from the text itself.
function findLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** linePosition turns an offset into a 1-based line and column (binary search over line starts). */
function linePosition(lineStarts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - (lineStarts[lo] ?? 0) + 1 };
}

function childOf(node: unknown, segment: PathSegment): { key: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
    return pair === undefined ? undefined : { key: pair.key, value: pair.value ?? pair.key };
  }
  if (isSeq(node) && typeof segment === "number") {
    const item = node.items[segment];
    return item === undefined ? undefined : { key: undefined, value: item };
  }
  return undefined;
}

function startOf(node: unknown): number | undefined {
  if (node !== null && typeof node === "object" && "range" in node) {
    const r = (node as { range?: [number, number, number] | null }).range;
    if (r !== undefined && r !== null) return r[0];
  }
  return undefined;
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}

const YAML_HINTS: Readonly<Record<string, string>> = {
  DUPLICATE_KEY: "each key may appear once in a map; remove or merge the repeated one",
  TAB_AS_INDENT: "indent with spaces, not tabs",
  MULTIPLE_DOCS: "one document per file: remove the second '---'",
  TAG_RESOLVE_FAILED: "remove the tag; quote the value if it must be a string",
  BAD_INDENT: "check the indentation and that every [ and { is closed",
  MISSING_CHAR: "a bracket or quote is not closed",
  BLOCK_AS_IMPLICIT_KEY: "a key is missing its ':' or is indented wrongly",
  MULTILINE_IMPLICIT_KEY: "a key must fit on one line; check for a missing ':' or quote",
  UNEXPECTED_TOKEN: "check the syntax around this place",
};
