/**
 * The simulated package repository "FreeBSD": what `pkg install` can find, and the rc scripts
 * each package installs under /usr/local/etc/rc.d. Built in, plus `$STEWARD_SIM_ROOT/repo.json`
 * for tests that need more (its entries replace built-in ones of the same name). A package
 * listed without rc scripts in repo.json installs one named after itself (package X provides
 * service X); built-in packages list theirs as the FreeBSD ports install them.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface RcScriptSpec {
  /** File name under /usr/local/etc/rc.d (what `service X` takes). */
  readonly script: string;
  /** The script's $name (defaults to the file name). */
  readonly name?: string;
  /** Its rcvar (defaults to `${name}_enable`). */
  readonly rcvar?: string;
  readonly pidfile?: string;
  readonly desc?: string;
  readonly extraCommands?: readonly string[];
}

export interface CatalogueEntry {
  readonly name: string;
  readonly version: string;
  readonly origin: string;
  readonly comment: string;
  readonly maintainer: string;
  readonly www: string;
  /** Installed size in bytes. */
  readonly flatsize: number;
  /** Package file size in bytes. */
  readonly pkgsize: number;
  readonly services: readonly RcScriptSpec[];
  /**
   * Users (and their groups) the package creates on install, as ports' USERS/GROUPS do, with
   * the ids of ports/UIDs and ports/GIDs.
   */
  readonly users?: readonly { readonly name: string; readonly id: number }[];
}

/** USERS adds the users a package creates to its catalogue entry. */
const USERS = (e: CatalogueEntry, users: { name: string; id: number }[]): CatalogueEntry => ({ ...e, users });

const E = (name: string, version: string, origin: string, comment: string, www: string, flatsize: number, services: RcScriptSpec[]): CatalogueEntry => ({
  name,
  version,
  origin,
  comment,
  maintainer: "ports@FreeBSD.org",
  www,
  flatsize,
  pkgsize: Math.round(flatsize / 3),
  services,
});

/** The built-in catalogue (versions as in a 2025 quarterly branch; sizes are round figures). */
export const BUILTIN_CATALOGUE: readonly CatalogueEntry[] = [
  E("pkg", "1.21.3", "ports-mgmt/pkg", "Package manager", "https://github.com/freebsd/pkg", 12_000_000, []),
  E("nginx", "1.26.3_2,3", "www/nginx", "Robust and small WWW server", "https://nginx.org/", 1_500_000, [
    { script: "nginx", pidfile: "/var/run/nginx.pid", desc: "Robust and small WWW server", extraCommands: ["reload", "configtest", "upgrade", "gracefulstop"] },
  ]),
  USERS(E("postfix", "3.9.3,1", "mail/postfix", "Secure alternative to widely-used Sendmail", "https://www.postfix.org/", 6_000_000, [
    { script: "postfix", pidfile: "/var/spool/postfix/pid/master.pid", desc: "Postfix Mail Transfer Agent", extraCommands: ["reload"] },
  ]), [{ name: "postfix", id: 125 }]),
  USERS(E("dovecot", "2.3.21.1_1", "mail/dovecot", "Secure, fast and powerful IMAP and POP3 server", "https://www.dovecot.org/", 9_000_000, [
    { script: "dovecot", pidfile: "/var/run/dovecot/master.pid", desc: "Dovecot IMAP/POP3 server", extraCommands: ["reload"] },
  ]), [{ name: "dovecot", id: 143 }, { name: "dovenull", id: 144 }]),
  USERS(E("py311-radicale", "3.3.1", "www/radicale", "Python based CalDAV/CardDAV server", "https://radicale.org/", 1_200_000, [
    { script: "radicale", pidfile: "/var/run/radicale/radicale.pid", desc: "Python based CalDAV/CardDAV server" },
  ]), [{ name: "radicale", id: 891 }]),
  USERS(E("prosody", "0.12.5", "net-im/prosody", "Simple extensible XMPP server written in Lua", "https://prosody.im/", 2_500_000, [
    { script: "prosody", pidfile: "/var/run/prosody/prosody.pid", desc: "Prosody XMPP server", extraCommands: ["reload"] },
  ]), [{ name: "prosody", id: 524 }]),
  USERS(E("taskd", "1.1.0_9", "deskutils/taskd", "Taskwarrior synchronization server", "https://taskwarrior.org/", 900_000, [
    { script: "taskd", pidfile: "/var/run/taskd.pid", desc: "Taskwarrior server" },
  ]), [{ name: "taskd", id: 318 }]),
  USERS(E("opendkim", "2.10.3_18", "mail/opendkim", "DKIM library and milter implementation", "http://www.opendkim.org/", 1_800_000, [
    { script: "milter-opendkim", name: "milteropendkim", rcvar: "milteropendkim_enable", pidfile: "/var/run/milteropendkim/pid", desc: "OpenDKIM milter" },
  ]), [{ name: "mailnull", id: 26 }]),
  E("spamassassin", "4.0.1_3", "mail/spamassassin", "Highly efficient mail filter for identifying spam", "https://spamassassin.apache.org/", 4_000_000, [
    { script: "sa-spamd", name: "spamd", rcvar: "spamd_enable", pidfile: "/var/run/spamd/spamd.pid", desc: "SpamAssassin daemon", extraCommands: ["reload"] },
  ]),
  E("spamd", "4.9.1_3", "mail/spamd", "Traps spammers with a very slow smtp-login and return 4xx error", "https://www.openbsd.org/", 300_000, [
    { script: "obspamd", pidfile: "/var/run/spamd.pid", desc: "OpenBSD spamd" },
    { script: "obspamlogd", pidfile: "/var/run/spamlogd.pid", desc: "OpenBSD spamlogd" },
  ]),
  USERS(E("git", "2.48.1", "devel/git", "Distributed source code management tool", "https://git-scm.com/", 45_000_000, [
    { script: "git_daemon", pidfile: "/var/run/git_daemon.pid", desc: "git daemon" },
  ]), [{ name: "git_daemon", id: 964 }]),
  E("rsync", "3.4.1", "net/rsync", "Network file distribution/synchronization utility", "https://rsync.samba.org/", 700_000, [{ script: "rsyncd", pidfile: "/var/run/rsyncd.pid", desc: "rsync daemon" }]),
];

interface RepoFile {
  packages?: Array<Partial<CatalogueEntry> & { name: string; services?: RcScriptSpec[] }>;
}

/** loadCatalogue returns the built-in packages overlaid with `$sim/repo.json`. Throws on a malformed file. */
export function loadCatalogue(sim: string): CatalogueEntry[] {
  const byName = new Map(BUILTIN_CATALOGUE.map((e) => [e.name, e]));
  const path = join(sim, "repo.json");
  if (existsSync(path)) {
    const f = JSON.parse(readFileSync(path, "utf8")) as RepoFile;
    for (const p of f.packages ?? []) {
      if (typeof p.name !== "string" || p.name === "") throw new Error(`${path}: a package without a name`);
      const flatsize = p.flatsize ?? 1_000_000;
      byName.set(p.name, {
        name: p.name,
        version: p.version ?? "1.0",
        origin: p.origin ?? `misc/${p.name}`,
        comment: p.comment ?? `${p.name} (simulated package)`,
        maintainer: p.maintainer ?? "ports@FreeBSD.org",
        www: p.www ?? "https://www.freebsd.org/",
        flatsize,
        pkgsize: p.pkgsize ?? Math.round(flatsize / 3),
        services: p.services ?? [{ script: p.name }],
      });
    }
  }
  return [...byName.values()];
}
