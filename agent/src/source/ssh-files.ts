/**
 * The two files ssh is given for an ssh remote, read the way ssh reads them, for messages and
 * for checks before ssh ever runs. Pure: bytes in, findings out.
 *
 * - `known_hosts` (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): `[@marker] hosts keytype base64 [comment]`;
 *   Steward names the pinned keys by fingerprint, as `ssh-keygen -lf known_hosts` does, and
 *   the hosts a file pins when the one asked for is not among them.
 * - the private key (`key:`): ssh runs in batch mode, so a key it cannot use — a public key, a
 *   file of another kind, a key with a passphrase, a key others may read — is silently skipped
 *   and the server's "Permission denied" is all that is left to see. Those are found here.
 */
import { keyFingerprint } from "./sshsig.js";

/** One key line of a known_hosts file. */
export interface KnownHost {
  /** Counting from 1. */
  readonly line: number;
  readonly marker: "cert-authority" | "revoked" | undefined;
  /** The host patterns as written; undefined when hashed (`|1|…`, HashKnownHosts). */
  readonly hosts: string | undefined;
  readonly type: string;
  /** As `ssh-keygen -l` prints it; undefined when the key's base64 does not decode. */
  readonly fingerprint: string | undefined;
}

/**
 * parseKnownHosts lists the key lines of a known_hosts text; comments, blank lines and lines
 * without a key are skipped, as ssh skips them. Never throws.
 */
export function parseKnownHosts(text: string): KnownHost[] {
  const out: KnownHost[] = [];
  text.split("\n").forEach((raw, i) => {
    const fields = raw.trim().split(/[ \t]+/);
    if (fields[0] === undefined || fields[0] === "" || fields[0].startsWith("#")) return;
    let marker: KnownHost["marker"];
    if (fields[0] === "@cert-authority" || fields[0] === "@revoked") {
      marker = fields[0] === "@revoked" ? "revoked" : "cert-authority";
      fields.shift();
    }
    const [hosts, type, b64] = fields;
    if (hosts === undefined || type === undefined || b64 === undefined) return;
    const blob = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? Buffer.from(b64, "base64") : undefined;
    const named = blob === undefined ? undefined : keyFingerprint(blob);
    out.push({ line: i + 1, marker, hosts: hosts.startsWith("|") ? undefined : hosts, type, fingerprint: named?.fingerprint });
  });
  return out;
}

const DISPLAY_TYPES: Readonly<Record<string, string>> = {
  "ssh-ed25519": "ED25519",
  "sk-ssh-ed25519@openssh.com": "ED25519-SK",
  "ssh-rsa": "RSA",
  "ssh-dss": "DSA",
  "ecdsa-sha2-nistp256": "ECDSA",
  "ecdsa-sha2-nistp384": "ECDSA",
  "ecdsa-sha2-nistp521": "ECDSA",
  "sk-ecdsa-sha2-nistp256@openssh.com": "ECDSA-SK",
};

/** displayKeyType names a key type as ssh and `ssh-keygen -l` print it (ED25519, RSA, ECDSA, …). */
export function displayKeyType(type: string): string {
  return DISPLAY_TYPES[type.replace(/-cert-v01@openssh\.com$/, "")] ?? type;
}

/** sshHostName is the name ssh looks a host up by in known_hosts: `host`, or `[host]:port` off port 22. */
export function sshHostName(host: string, port: number | undefined): string {
  return port === undefined || port === 22 ? host : `[${host}]:${port}`;
}

/** What ssh would make of a private key file. */
export interface PrivateKeyFile {
  readonly bytes: Uint8Array;
  /** The file's permission bits. */
  readonly mode: number;
  /** Whether this process's user owns it: ssh checks the permissions of its own keys only. */
  readonly ownedByMe: boolean;
}

/** Why ssh cannot use a key file, and what to do. */
export interface KeyFileProblem {
  readonly message: string;
  readonly hint: string;
}

const PUBLIC_KEY = /^(?:ssh-|ecdsa-|sk-|---- BEGIN SSH2 PUBLIC KEY)/;
const OPENSSH_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----";
const OPENSSH_MAGIC = "openssh-key-v1\u0000";

/**
 * checkPrivateKey says why ssh in batch mode could not use the key file `path`, or returns
 * undefined when it could (sshkey.c sshkey_parse_private_fileblob, authfile.c sshkey_perm_ok):
 * a public key, no PEM or OpenSSH armor, a passphrase, or permissions open to others on a key
 * this user owns. Only the first bytes are needed. Never throws.
 */
export function checkPrivateKey(path: string, file: PrivateKeyFile): KeyFileProblem | undefined {
  const text = Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength).toString("latin1").replace(/^\s+/, "");
  if (PUBLIC_KEY.test(text)) {
    return { message: `key ${path} is a public key`, hint: `name the private key: ${path.replace(/\.pub$/, "")} (ssh-keygen -t ed25519 -N '' -f FILE writes FILE and FILE.pub)` };
  }
  if (!text.startsWith("-----BEGIN ") || !/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
    return { message: `key ${path} is not an ssh private key`, hint: "name the node's private key file, made with ssh-keygen -t ed25519 -N '' -f FILE" };
  }
  if (isEncrypted(text)) {
    return { message: `key ${path} is protected by a passphrase`, hint: `Steward runs ssh unattended and cannot type it: remove it (ssh-keygen -p -N '' -f ${path}) and protect the file by its permissions (chmod 600)` };
  }
  if (file.ownedByMe && (file.mode & 0o077) !== 0) {
    return { message: `key ${path} may be read by others (mode ${(file.mode & 0o777).toString(8).padStart(4, "0")}), so ssh ignores it`, hint: `chmod 600 ${path}` };
  }
  return undefined;
}

function isEncrypted(text: string): boolean {
  if (text.startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----")) return true;
  if (!text.startsWith(OPENSSH_BEGIN)) return /^Proc-Type: *4,ENCRYPTED/m.test(text.slice(0, 400));
  // openssh-key-v1: magic, then the cipher's name as an ssh string; "none" when unencrypted.
  const b64 = text.slice(OPENSSH_BEGIN.length).replace(/\s+/g, "").slice(0, 96);
  const head = Buffer.from(b64, "base64");
  if (head.length < OPENSSH_MAGIC.length + 4 || head.toString("latin1", 0, OPENSSH_MAGIC.length) !== OPENSSH_MAGIC) return false;
  const len = head.readUInt32BE(OPENSSH_MAGIC.length);
  const cipher = head.toString("latin1", OPENSSH_MAGIC.length + 4, OPENSSH_MAGIC.length + 4 + len);
  return cipher !== "none";
}
