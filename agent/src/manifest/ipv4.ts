/** IPv4 arithmetic for the semantic checks. Pure. Inputs have passed the schema's patterns. */

export interface Cidr {
  readonly network: number;
  readonly prefix: number;
}

/** parseIpv4 turns a dotted quad into an unsigned 32-bit number, or undefined if malformed. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** parseCidr reads `a.b.c.d/len`; the address is masked to its network. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, len, ...rest] = text.split("/");
  if (addr === undefined || len === undefined || rest.length > 0 || !/^[0-9]{1,2}$/.test(len)) return undefined;
  const ip = parseIpv4(addr);
  const prefix = Number(len);
  if (ip === undefined || prefix > 32) return undefined;
  return { network: (ip & mask(prefix)) >>> 0, prefix };
}

/** hasHostBits tells whether `a.b.c.d/len` names an address inside the network rather than the network. */
export function hasHostBits(text: string): boolean {
  const [addr] = text.split("/");
  const c = parseCidr(text);
  const ip = addr === undefined ? undefined : parseIpv4(addr);
  return c !== undefined && ip !== undefined && ip !== c.network;
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & mask(c.prefix)) >>> 0) === c.network;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.network & mask(p)) >>> 0) === ((b.network & mask(p)) >>> 0);
}

export function broadcast(c: Cidr): number {
  return (c.network | (~mask(c.prefix) >>> 0)) >>> 0;
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
