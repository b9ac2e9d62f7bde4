/**
 * What runs inside a namespace of the lab (lab.ts), started with `ip netns exec NS node agent.js`:
 *
 *   listen NAME JSON   bind TCP and UDP on every {address, port} of JSON ({addresses, ports});
 *                      answer every TCP connection and UDP datagram with NAME and a newline;
 *                      print "ready" once everything is bound; run until killed.
 *   probe JSON         try every {address, proto, port} of JSON ({targets, timeoutMs, from?}:
 *                      from the address `from` when given) at once: a TCP connection
 *                      (answered: the first line the peer sends) or a UDP datagram (answered:
 *                      the datagram that comes back), each within `timeoutMs`; print the
 *                      results as JSON on one line, then exit.
 *
 * Test code: plain node:net and node:dgram, no Steward code.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";

interface Target {
  readonly address: string;
  readonly proto: "tcp" | "udp";
  readonly port: number;
}

export interface ProbeResult extends Target {
  /** The name of who answered, or null. */
  readonly answeredBy: string | null;
}

async function listen(name: string, spec: { addresses: string[]; ports: { proto: "tcp" | "udp"; port: number }[] }): Promise<void> {
  const servers: (Server | UdpSocket)[] = [];
  const line = Buffer.from(`${name}\n`);
  for (const address of spec.addresses) {
    for (const { proto, port } of spec.ports) {
      if (proto === "tcp") {
        const server = createServer((socket) => {
          socket.on("error", () => {});
          socket.end(line);
        });
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(port, address, () => resolve());
        });
        servers.push(server);
      } else {
        const socket = createSocket("udp4");
        socket.on("message", (_msg, from) => socket.send(line, from.port, from.address));
        await new Promise<void>((resolve, reject) => {
          socket.once("error", reject);
          socket.bind(port, address, () => resolve());
        });
        servers.push(socket);
      }
    }
  }
  process.stdout.write("ready\n");
  await new Promise(() => {});
}

function probeTcp(t: Target, timeoutMs: number, from: string | undefined): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: t.address, port: t.port, ...(from === undefined ? {} : { localAddress: from }) });
    let data = "";
    const done = (v: string | null): void => {
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.on("data", (b: Buffer) => {
      data += b.toString("utf8");
      if (data.includes("\n")) done(data.split("\n")[0] ?? "");
    });
    socket.on("error", () => done(null));
    socket.on("end", () => done(data === "" ? null : data.trim()));
  });
}

function probeUdp(t: Target, timeoutMs: number, from: string | undefined): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => done(null), timeoutMs);
    const done = (v: string | null): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.close();
      resolve(v);
    };
    socket.on("error", () => done(null));
    socket.on("message", (msg) => done(msg.toString("utf8").trim()));
    socket.bind(0, from, () => socket.send(Buffer.from("probe\n"), t.port, t.address));
  });
}

async function probe(spec: { targets: Target[]; timeoutMs: number; from?: string }): Promise<void> {
  const results: ProbeResult[] = await Promise.all(
    spec.targets.map(async (t) => ({ ...t, answeredBy: await (t.proto === "tcp" ? probeTcp(t, spec.timeoutMs, spec.from) : probeUdp(t, spec.timeoutMs, spec.from)) })),
  );
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

const [mode, a, b] = process.argv.slice(2);
if (mode === "listen" && a !== undefined && b !== undefined) await listen(a, JSON.parse(b) as Parameters<typeof listen>[1]);
else if (mode === "probe" && a !== undefined) await probe(JSON.parse(a) as Parameters<typeof probe>[0]);
else {
  process.stderr.write("usage: agent.js listen NAME JSON | probe JSON\n");
  process.exit(2);
}
