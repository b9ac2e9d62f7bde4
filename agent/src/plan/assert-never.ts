/**
 * assertNever closes a `switch` over a closed union: it does not compile while a case is
 * missing, and throws INTERNAL if a value that the types rule out arrives anyway.
 */
import { StewardError } from "../errors.js";

export function assertNever(value: never, what = "value"): never {
  throw new StewardError("INTERNAL", `unexpected ${what}: ${JSON.stringify(value)}`, { retry: "internal" });
}
