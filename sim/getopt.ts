/**
 * Option parsing as the simulated tools' real counterparts do it. Pure.
 * - bsdGetopt: FreeBSD libc getopt(3) as jail, jls, jexec and pkg use it: clustered flags
 *   (`-qc`), attached or separate arguments (`-fFILE`, `-f FILE`), stops at the first operand or
 *   `--`, and on a bad flag prints `prog: illegal option -- z` or
 *   `prog: option requires an argument -- f` (getopt(3) "DIAGNOSTICS").
 * - shGetopts: sh(1)'s getopts builtin as sysrc and service use it; FreeBSD sh reports
 *   `Illegal option -z` and `No arg for -f option` without a program name.
 */

export interface ParsedOptions {
  /** The options in command-line order, each with its argument when the flag takes one. */
  readonly options: ReadonlyArray<{ readonly flag: string; readonly arg?: string }>;
  /** The operands after the options. */
  readonly rest: readonly string[];
}

export type GetoptResult = { ok: true; value: ParsedOptions } | { ok: false; message: string };

function takesArg(optstring: string, flag: string): boolean | undefined {
  const i = optstring.indexOf(flag);
  if (i < 0 || flag === ":" || flag === "+") return undefined;
  return optstring[i + 1] === ":";
}

function parse(argv: readonly string[], optstring: string, illegal: (c: string) => string, missing: (c: string) => string): GetoptResult {
  const options: Array<{ flag: string; arg?: string }> = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--") {
      i++;
      break;
    }
    if (a.length < 2 || a[0] !== "-") break;
    for (let k = 1; k < a.length; k++) {
      const c = a[k] ?? "";
      const t = takesArg(optstring, c);
      if (t === undefined) return { ok: false, message: illegal(c) };
      if (!t) {
        options.push({ flag: c });
        continue;
      }
      if (k + 1 < a.length) {
        options.push({ flag: c, arg: a.slice(k + 1) });
      } else if (i + 1 < argv.length) {
        i++;
        options.push({ flag: c, arg: argv[i] ?? "" });
      } else {
        return { ok: false, message: missing(c) };
      }
      break;
    }
  }
  return { ok: true, value: { options, rest: argv.slice(i) } };
}

/** bsdGetopt parses like getopt(3); `message` is the diagnostic line getopt itself prints (with newline). */
export function bsdGetopt(prog: string, argv: readonly string[], optstring: string): GetoptResult {
  return parse(
    argv,
    optstring,
    (c) => `${prog}: illegal option -- ${c}\n`,
    (c) => `${prog}: option requires an argument -- ${c}\n`,
  );
}

/** shGetopts parses like FreeBSD sh(1)'s getopts; `message` is what the builtin prints on stderr. */
export function shGetopts(argv: readonly string[], optstring: string): GetoptResult {
  return parse(
    argv,
    optstring,
    (c) => `Illegal option -${c}\n`,
    (c) => `No arg for -${c} option\n`,
  );
}
