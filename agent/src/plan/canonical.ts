/**
 * Canonical JSON: object keys sorted at every depth, arrays kept in order. Pure. Two equal
 * plans serialize to the same bytes, so plans diff cleanly and hash to stable ids.
 */
import { createHash } from "node:crypto";

/** canonicalize returns a deep copy of plain data with every object's keys sorted. */
export function canonicalize<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => canonicalize(v)) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonicalize(v);
    }
    return out as T;
  }
  return value;
}

/** contentId hashes the canonical JSON of a value: sha256, first 16 hex digits. */
export function contentId(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(canonicalize(value))).digest("hex").slice(0, 16);
}
