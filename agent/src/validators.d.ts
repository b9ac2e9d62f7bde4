/**
 * The JSON Schema validators, compiled at build time by scripts/compile-schemas.ts into
 * build/agent/src/validators.js (ajv standalone code). Each is a plain function that returns
 * whether its argument is valid and leaves the problems in `.errors`.
 */
import type { ValidateFunction } from "ajv";

/** cluster.yaml (schema/cluster.schema.json). */
export declare const cluster: ValidateFunction;
/** nodes/<node>.yaml (schema/node.schema.json). */
export declare const node: ValidateFunction;
/** services/<service>.yaml (schema/service.schema.json). */
export declare const service: ValidateFunction;
/** The agent configuration (agent/src/config.schema.json). */
export declare const config: ValidateFunction;
