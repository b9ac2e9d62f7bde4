/**
 * The pf driver's data (docs/network.md): its slice of a node's desired state (the anchor
 * text), what it observes of the host's pf, the record of what it last loaded, and its one
 * action and its findings. Plain, serializable data; no I/O.
 */
import type { ContentRef, Drift } from "../../manifest/types.js";
import type { ActionBase, FindingBase, Postcondition } from "../../plan/types.js";

/** A git remote the node must still reach after a load (host and TCP port). */
export interface ProbeTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** Commit-confirmed loading: the remotes to reach, and how long the node has to reach one. */
export interface ConfirmSettings {
  readonly targets: readonly ProbeTarget[];
  readonly windowMs: number;
}

export interface PfDesired {
  /** The anchor's name: `steward`. */
  readonly anchor: string;
  /** The anchor file's text (network/pf.ts). */
  readonly text: string;
  readonly content: ContentRef;
  /** How many jails, translation and filter rules it holds (for people). */
  readonly counts: { readonly jails: number; readonly nat: number; readonly rdr: number; readonly filter: number };
  readonly drift: Drift;
  /** Absent: loads are not confirmed (no network remote, or pf_confirm_window: 0). */
  readonly confirm?: ConfirmSettings;
}

/** What the last successful load left, in `<state>/pf/applied.json`. */
export interface PfRecord {
  readonly version: 1;
  /** SHA-256 of the anchor file loaded and confirmed. */
  readonly anchorSha256?: string;
  /** SHA-256 of the anchor as pfctl read it back right after (readbackHash). */
  readonly readbackSha256?: string;
}

export const EMPTY_PF_RECORD: PfRecord = { version: 1 };

/** What the main ruleset (the node's /etc/pf.conf) does for the anchor. */
export interface PfHooks {
  readonly nat: boolean;
  readonly rdr: boolean;
  readonly filter: boolean;
  /** Main-ruleset `pass quick … all` rules evaluated before `anchor "steward"`. */
  readonly quickBefore: readonly string[];
}

export interface PfObserved {
  /** Where the driver keeps its files: `<state>/pf` (the anchor files and the record). */
  readonly dir: string;
  /** False when nothing was read: no jails, nothing loaded before, no anchor file. */
  readonly looked: boolean;
  /** Why pf cannot be used at all (no pfctl, no /dev/pf: the pf module is not loaded). */
  readonly unavailable?: string;
  /** pf is enabled (`pfctl -s Running`). */
  readonly running: boolean;
  readonly hooks: PfHooks;
  /** `set skip` covers lo0, so jails of the node are not kept apart. */
  readonly loopbackSkipped: boolean;
  /** SHA-256 of what the anchor holds now (readbackHash), and whether it is empty. */
  readonly readback: { readonly sha256: string; readonly empty: boolean };
  /** The anchor file of the last confirmed load exists (it is what a revert loads). */
  readonly previousFile: boolean;
  readonly applied: PfRecord;
}

/** The postcondition of a load: read the anchor back, then confirm the node still reaches a remote. */
export interface PfLoaded extends Postcondition {
  readonly kind: "pf.loaded";
  readonly anchor: string;
  /** The file just loaded. */
  readonly file: string;
  /** The file of the last confirmed load, loaded again when the new one is not confirmed; null: an empty anchor. */
  readonly previous: string | null;
  /** Where the empty anchor is written when there is no previous file. */
  readonly empty: string;
  readonly confirm?: ConfirmSettings;
}

export interface PfLoadAction extends ActionBase {
  readonly kind: "pf.load";
  readonly driver: "pf";
  readonly anchor: string;
  readonly postcondition: PfLoaded;
  readonly before: string | null;
  readonly after: string;
  readonly counts: PfDesired["counts"];
}

export type PfAction = PfLoadAction;

interface PfFindingBase extends FindingBase {
  readonly driver: "pf";
}

/**
 * - not-called:      /etc/pf.conf lacks nat-anchor, rdr-anchor or anchor "steward": loaded, not in force
 * - disabled:        pf is not enabled
 * - loopback-skipped: `set skip` on lo0: jails of one node are not kept apart
 * - quick-before:    a `pass quick … all` rule of pf.conf decides before the anchor
 * - drift-reported:  the anchor was changed on the host and drift is only reported
 * - unavailable:     pf cannot be used (no pfctl, or no /dev/pf); blocking: nothing is loaded
 */
export type PfFinding = PfFindingBase & { readonly kind: "not-called" | "disabled" | "loopback-skipped" | "quick-before" | "drift-reported" | "unavailable" };
