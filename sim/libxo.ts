/**
 * The part of libxo(3) jls(8) needs: its `--libxo` option and the JSON it writes. Pure.
 * Leaves are `"name":value` separated by `,`; an opened list or container is preceded by
 * `, ` and written `"name": [`; numbers (`%d` fields) are bare, strings quoted, and
 * `{n:}` booleans bare. `--libxo json,pretty` indents by two spaces.
 */

export type XoStyle = { style: "text" } | { style: "json"; pretty: boolean };

export type XoField =
  | { readonly kind: "leaf"; readonly name: string; readonly value: string | number | boolean }
  | { readonly kind: "list"; readonly name: string; readonly items: readonly string[] };

/**
 * parseLibxoArgs removes `--libxo X`, `--libxo=X` and `--libxo:X` from argv as
 * xo_parse_args() does. Returns the style, or an error message for an unknown option.
 */
export function parseLibxoArgs(argv: readonly string[]): { argv: string[]; style: XoStyle } | { error: string } {
  const out: string[] = [];
  let style: XoStyle = { style: "text" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    let spec: string | undefined;
    if (a === "--libxo") {
      spec = argv[++i];
      if (spec === undefined) return { error: "missing libxo option" };
    } else if (a.startsWith("--libxo=")) spec = a.slice(8);
    else if (a.startsWith("--libxo:")) {
      const flags = a.slice(8);
      const pretty = flags.includes("P");
      if (flags.includes("J")) style = { style: "json", pretty };
      else if (flags.includes("T")) style = { style: "text" };
      else return { error: `unknown libxo option value: '${flags}'` };
      continue;
    }
    if (spec === undefined) {
      out.push(a);
      continue;
    }
    const words = spec.split(",");
    let pretty = false;
    let s: "text" | "json" | undefined;
    for (const w of words) {
      if (w === "json") s = "json";
      else if (w === "text") s = "text";
      else if (w === "pretty") pretty = true;
      else if (w === "xml" || w === "html") return { error: `the simulator's jls has no libxo '${w}' output` };
      else if (w === "" || w === "warn" || w === "keys" || w === "underscores" || w === "dashes") continue;
      else return { error: `unknown libxo option value: '${w}'` };
    }
    style = s === "json" ? { style: "json", pretty } : { style: "text" };
  }
  return { argv: out, style };
}

function jsonString(s: string): string {
  return JSON.stringify(s);
}

function leafValue(v: string | number | boolean): string {
  return typeof v === "string" ? jsonString(v) : String(v);
}

/** renderJson writes `{"__version": V, C: {L: [instances]}}` the way libxo does. */
export function renderJson(version: string, container: string, list: string, instances: ReadonlyArray<readonly XoField[]>, pretty: boolean): string {
  if (!pretty) {
    const inst = instances.map((fields) => {
      let out = "{";
      fields.forEach((f, i) => {
        if (f.kind === "leaf") out += `${i > 0 ? "," : ""}${jsonString(f.name)}:${leafValue(f.value)}`;
        else out += `${i > 0 ? ", " : ""}${jsonString(f.name)}: [${f.items.map(jsonString).join(",")}]`;
      });
      return `${out}}`;
    });
    return `{"__version": ${jsonString(version)}, ${jsonString(container)}: {${jsonString(list)}: [${inst.join(", ")}]}}\n`;
  }
  const ind = (n: number): string => "  ".repeat(n);
  const inst = instances.map((fields) => {
    const lines = fields.map((f) =>
      f.kind === "leaf"
        ? `${ind(4)}${jsonString(f.name)}: ${leafValue(f.value)}`
        : f.items.length === 0
          ? `${ind(4)}${jsonString(f.name)}: [\n${ind(4)}]`
          : `${ind(4)}${jsonString(f.name)}: [\n${f.items.map((x) => `${ind(5)}${jsonString(x)}`).join(",\n")}\n${ind(4)}]`,
    );
    return `${ind(3)}{\n${lines.join(",\n")}\n${ind(3)}}`;
  });
  return `{\n${ind(1)}"__version": ${jsonString(version)},\n${ind(1)}${jsonString(container)}: {\n${ind(2)}${jsonString(list)}: [\n${inst.join(",\n")}${inst.length > 0 ? "\n" : ""}${ind(2)}]\n${ind(1)}}\n}\n`;
}
