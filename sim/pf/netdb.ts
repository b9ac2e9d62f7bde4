/**
 * getservbyname/getservbyport and getprotobyname/getprotobynumber over FreeBSD's own
 * /etc/services and /etc/protocols (shipped as data), so names print as on FreeBSD
 * (465 is "smtps", 58 is "ipv6-icmp") whatever the Linux host's files say. Pure.
 */
import { PROTOCOLS } from "./protocols-data.js";
import { SERVICES } from "./services-data.js";

interface Service {
  name: string;
  port: number;
  proto: "tcp" | "udp";
  aliases: string[];
}

const services: Service[] = SERVICES.split("\n").map((line) => {
  const [name = "", pp = "", ...aliases] = line.split(" ");
  return { name, port: Number(pp.slice(0, -1)), proto: pp.endsWith("t") ? "tcp" : "udp", aliases };
});

const protocols = PROTOCOLS.split("\n").map((line) => {
  const [name = "", num = "", ...aliases] = line.split(" ");
  return { name, num: Number(num), aliases };
});

export function getServByName(name: string, proto: "tcp" | "udp"): number | null {
  const s = services.find((e) => e.proto === proto && (e.name === name || e.aliases.includes(name)));
  return s ? s.port : null;
}

export function getServByPort(port: number, proto: "tcp" | "udp"): string | null {
  return services.find((e) => e.proto === proto && e.port === port)?.name ?? null;
}

export function getProtoByName(name: string): number | null {
  const p = protocols.find((e) => e.name === name || e.aliases.includes(name));
  return p ? p.num : null;
}

export function getProtoByNumber(num: number): string | null {
  return protocols.find((e) => e.num === num)?.name ?? null;
}
