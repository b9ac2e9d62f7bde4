/**
 * A git smart-HTTP server as a process of its own (git-http-server.ts), for a test network
 * where the server lives in another network namespace than the test (netns.ts starts it with
 * nsenter). Usage:
 *
 *   node git-http-serve.js ROOT ADDRESS PORT [CLIENT_ADDRESS=USER ...]
 *
 * serves the bare repositories under ROOT on ADDRESS:PORT; a request from CLIENT_ADDRESS runs
 * as REMOTE_USER=USER (what lets http-backend take its pushes, and what the server's hooks
 * read), a request from any other address as nobody (fetch only). Prints `listening URL` once
 * it listens; SIGTERM closes it.
 */
import { startGitHttpServer } from "./git-http-server.js";

const [root, host, port, ...pairs] = process.argv.slice(2);
if (root === undefined || host === undefined || port === undefined) {
  process.stderr.write("usage: git-http-serve ROOT ADDRESS PORT [CLIENT_ADDRESS=USER ...]\n");
  process.exit(2);
}
const users = new Map(pairs.map((p) => p.split("=", 2) as [string, string]));
const server = await startGitHttpServer(root, { host, port: Number(port), remoteUser: (client) => users.get(client) });
process.stdout.write(`listening ${server.url("")}\n`);
const stop = (): void => void server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
