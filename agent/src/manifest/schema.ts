/**
 * JSON Schema validation of manifest files (draft 2020-12, ajv in strict mode, compiled at
 * build time: scripts/compile-schemas.ts). Pure: values come in, diagnostics with positions
 * go out.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import commonSchema from "../../../schema/common.schema.json" with { type: "json" };
import type { Diagnostic } from "../errors.js";
import * as validators from "../validators.js";
import { locate, type ParsedFile, type PathSegment } from "./yaml.js";

export type ManifestKind = "cluster" | "node" | "service";

const VALIDATORS: Readonly<Record<ManifestKind, ValidateFunction>> = { cluster: validators.cluster, node: validators.node, service: validators.service };

/**
 * validateSchema checks one parsed file against the schema of its kind. Returns every
 * violation as a MANIFEST_SCHEMA diagnostic placed on the offending key or value, with a hint.
 */
export function validateSchema(kind: ManifestKind, parsed: ParsedFile): Diagnostic[] {
  const validate = VALIDATORS[kind];
  if (validate(parsed.value)) return [];
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const e of simplify(validate.errors ?? [])) {
    const d = toDiagnostic(kind, parsed, e);
    const id = `${d.where.line}:${d.where.column}:${d.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(d);
  }
  return out;
}

/**
 * ajv reports a failed `$ref`/`propertyNames` twice (once for the inner keyword, once for the
 * wrapper) and `if`-style noise; keep the errors that say something to a person.
 */
function simplify(errors: readonly ErrorObject[]): ErrorObject[] {
  return errors.filter((e) => {
    if (e.keyword === "propertyNames" || e.keyword === "if") return false;
    // When any key of a `$ref`-ed map fails, ajv forgets which keys the `$ref` evaluated and
    // reports the others as unevaluated too. A key the schema knows here is never "unknown".
    if (e.keyword === "unevaluatedProperties") return !isKnownKey(e.parentSchema, String((e.params as { unevaluatedProperty?: string }).unevaluatedProperty));
    return true;
  });
}

const USER_PROPERTY = new RegExp(Object.keys(commonSchema.$defs.datasetProperties.patternProperties)[0] ?? "^$");

function isKnownKey(schema: unknown, key: string): boolean {
  const s = schema as { $ref?: string } | undefined;
  return knownKeys(schema).includes(key) || (s?.$ref?.endsWith("datasetProperties") === true && USER_PROPERTY.test(key));
}

function toDiagnostic(kind: ManifestKind, parsed: ParsedFile, e: ErrorObject): Diagnostic {
  const path = pointerToPath(e.instancePath);
  const shown = e.instancePath === "" ? "(top level)" : e.instancePath;
  const base = { code: "MANIFEST_SCHEMA" as const, severity: "error" as const };
  switch (e.keyword) {
    case "additionalProperties":
    case "unevaluatedProperties": {
      const extra = String((e.params as { additionalProperty?: string; unevaluatedProperty?: string }).additionalProperty ?? (e.params as { unevaluatedProperty?: string }).unevaluatedProperty);
      const known = knownKeys(e.parentSchema);
      const close = closest(extra, known);
      return {
        ...base,
        message: `${shown}: unknown key '${extra}'`,
        where: locate(parsed, path, extra),
        hint: close !== undefined ? `did you mean '${close}'?` : known.length > 0 ? `known keys here: ${known.join(", ")}` : "remove this key",
      };
    }
    case "required": {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      const described = describe(e.parentSchema, missing);
      return { ...base, message: `${shown}: missing required key '${missing}'`, where: locate(parsed, path), hint: `add '${missing}:'${described === undefined ? "" : ` (${described})`}` };
    }
    case "pattern": {
      // A key that fails propertyNames arrives as a pattern error on the key itself.
      const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName;
      if (propertyName !== undefined) {
        return { ...base, message: `${shown}: key '${propertyName}' is not allowed here`, where: locate(parsed, path, propertyName), hint: patternHint(kind, path, e) };
      }
      return { ...base, message: `${shown}: ${JSON.stringify(e.data)} has the wrong form`, where: locate(parsed, path), hint: patternHint(kind, path, e) };
    }
    case "format":
      return { ...base, message: `${shown}: must be an ${String((e.params as { format: string }).format)} address`, where: locate(parsed, path), hint: "write a dotted IPv4 address without a prefix length, e.g. 10.17.0.25" };
    case "enum": {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const close = typeof e.data === "string" ? closest(e.data, allowed) : undefined;
      return { ...base, message: `${shown}: must be one of ${allowed.join(", ")}`, where: locate(parsed, path), hint: close !== undefined ? `did you mean '${close}'?` : `write one of: ${allowed.join(", ")}` };
    }
    case "type": {
      const want = String((e.params as { type: string | string[] }).type);
      return { ...base, message: `${shown}: must be ${article(want)} (found ${typeName(e.data)})`, where: locate(parsed, path), hint: typeHint(want, e.data) };
    }
    case "uniqueItems": {
      const j = (e.params as { j: number }).j;
      return { ...base, message: `${shown}: an item is listed twice`, where: locate(parsed, [...path, j]), hint: "remove the repeated item" };
    }
    case "minItems":
      return { ...base, message: `${shown}: must not be empty`, where: locate(parsed, path), hint: "list at least one item" };
    case "maxLength":
      return { ...base, message: `${shown}: is too long (at most ${String((e.params as { limit: number }).limit)} characters)`, where: locate(parsed, path), hint: "shorten it" };
    default:
      return { ...base, message: `${shown}: ${e.message ?? e.keyword}`, where: locate(parsed, path), hint: "see schema/README.md for the format" };
  }
}

function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

function knownKeys(schema: unknown): string[] {
  const s = schema as { properties?: Record<string, unknown>; $ref?: string } | undefined;
  const own = Object.keys(s?.properties ?? {});
  // A dataset's keys come partly from the shared datasetProperties definition.
  if (s?.$ref?.endsWith("datasetProperties") === true) own.push(...Object.keys(commonSchema.$defs.datasetProperties.properties));
  return own.sort();
}

function describe(schema: unknown, key: string): string | undefined {
  const props = (schema as { properties?: Record<string, { description?: string }> } | undefined)?.properties;
  const description = props !== undefined && Object.hasOwn(props, key) ? props[key]?.description : undefined;
  return typeof description === "string" ? description : undefined;
}

/** Hints for values of the wrong form, by what the value is for. */
function patternHint(kind: ManifestKind, path: readonly PathSegment[], e: ErrorObject): string {
  const description = (e.parentSchema as { description?: string } | undefined)?.description;
  const last = path[path.length - 1];
  const key = typeof last === "string" ? last : path[path.length - 2];
  const hints: Record<string, string> = {
    node: "a node name: lowercase letters, digits and '-', starting with a letter, e.g. alpha",
    expose: "write PORT/PROTO, e.g. 443/tcp",
    routes: "write SERVICE:PORT/PROTO, internet:PORT/PROTO, or one of dns, web, ntp",
    packages: "a package name, e.g. dovecot or py311-radicale",
    services: "an rc.d script name, e.g. postfix",
    restart: "an rc.d script name from jail.services",
    rc: "letters, digits, spaces and _.,:/@+=- only; no quotes, $ or newlines",
    jails: "an absolute path such as /jails",
    mount: "an absolute path inside the jail, e.g. /var/db/radicale",
    from: "a path in this repo, e.g. files/mail/main.cf",
    quota: "a size such as 20G, 512M or none",
    recordsize: "a power of two from 512 to 1M, e.g. 16K or 128K",
    compression: "one of on, off, lz4, zstd, gzip, gzip-1..9, lzjb, zle",
    protect: "a network with prefix length, e.g. 192.168.1.0/24",
    release: "a FreeBSD release such as 14.2-RELEASE",
    destroy: "a full dataset name under <pool>/steward, e.g. zroot/steward/data/blog/www",
    mode: "an octal mode, e.g. \"0640\" (quoted)",
    owner: "user or user:group, e.g. root:mail",
    pool: "a pool name, e.g. zroot",
    interface: "an interface name such as em0 or igb1",
    domain: "a DNS domain such as home.arpa",
  };
  if (key === "jails" && path[0] === "network") return "a network with prefix length, e.g. 10.17.0.0/24";
  if (path[0] === "files" && path.length === 1) return "an absolute path inside the jail, e.g. /usr/local/etc/app.conf";
  if (path[0] === "datasets" && path.length === 1) return "a dataset name: lowercase letters, digits, '.', '_' and '-'";
  if (path[0] === "datasets" && typeof last === "string" && last.includes(":")) return "any text without control characters";
  if (path[0] === "jail" && path[1] === "rc" && path.length === 2) return "an rc.conf variable name, e.g. postfix_enable";
  const hint = typeof key === "string" && Object.hasOwn(hints, key) ? hints[key] : undefined;
  return hint ?? (typeof description === "string" ? description : `see schema/README.md (${kind} files)`);
}

function typeHint(want: string, data: unknown): string {
  if (typeof data === "boolean") return "YAML 1.2 reads true/false as booleans: quote the value, e.g. \"YES\"";
  if (data === null) return "the value is empty: write it after the ':'";
  if (want === "object") return "write a map of key: value lines here";
  if (want === "array") return "write a list, e.g. [a, b]";
  if (want.includes("string")) return "quote the value";
  return `write ${article(want)} here`;
}

function article(type: string): string {
  if (type.includes(",")) return type.split(",").map(article).join(" or ");
  return type === "object" ? "a map" : type === "array" ? "a list" : type === "integer" ? "an integer" : `a ${type}`;
}

function typeName(v: unknown): string {
  if (v === null) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** closest returns the candidate within edit distance 2 of word, if there is one. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
