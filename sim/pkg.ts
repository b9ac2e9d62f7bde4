/**
 * pkg(8): the package manager, against the simulated repository (catalogue.ts) and a root's
 * package database (pkgdb.ts).
 *
 *   pkg [-v] [-d] [-l] [-N] [-j <jail name or id>|-c <chroot path>|-r <rootdir>] [-C <configuration file>] [-R <repo config dir>] [-o var=value] [-4|-6] <command> [<args>]
 *
 * Global options go before the command: `-j jail` works in a running jail (the jail's
 * database; progress lines start with `[host.hostname] `), `-c dir` chroots into a directory,
 * `-r dir` installs into a directory with the host's configuration; at most one of the three.
 * After the command, `-r` means a repository (`pkg install -r FreeBSD nginx`). Commands:
 * install, delete (remove), info, query, update, upgrade, autoremove, bootstrap, config, help,
 * version (abbreviations as pkg accepts them). Exit status: 0, 1 for usage errors and
 * "not found", 3 (EPKG_FATAL) when a package script fails. Installing a package writes its rc
 * scripts into <root>/usr/local/etc/rc.d; deleting removes them.
 *
 * Inside a jail (through jexec), `pkg` is /usr/sbin/pkg, the pkg(7) bootstrapper: until the
 * "pkg" package is installed in that jail it offers to bootstrap, and does so without asking
 * when ASSUME_ALWAYS_YES is yes.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fsRoot, currentJail, under, type Ctx } from "./context.js";
import { loadCatalogue, type CatalogueEntry } from "./catalogue.js";
import { faultHits, loadFaults, type Faults } from "./faults.js";
import { bsdGetopt } from "./getopt.js";
import type { Io } from "./io.js";
import { jailRoot } from "./jexec.js";
import { changeDb, dbPath, readDb, PKGDB_DIR, type InstalledPackage } from "./pkgdb.js";
import { installScripts } from "./rc.js";
import { findJail, notFoundMessage, readState } from "./state.js";

export const PKG_VERSION = "1.21.3";
const ABI = "FreeBSD:14:amd64";
const REPO = "FreeBSD";

const COMMANDS = [
  "add", "alias", "annotate", "audit", "autoremove", "check", "clean", "config", "create", "delete", "fetch", "help", "info", "install",
  "key", "lock", "plugins", "query", "register", "repo", "rquery", "search", "set", "shell", "shlib", "stats", "triggers", "unlock",
  "unregister", "update", "updating", "upgrade", "version", "which",
];
const ALIASES: Record<string, string> = { remove: "delete" };

const USAGE_LINE = "Usage: pkg [-v] [-d] [-l] [-N] [-j <jail name or id>|-c <chroot path>|-r <rootdir>] [-C <configuration file>] [-R <repo config dir>] [-o var=value] [-4|-6] <command> [<args>]\n";

/** Where one pkg run works. */
interface Target {
  ctx: Ctx;
  io: Io;
  root: string;
  /** `[hostname] ` before progress lines when running jailed. */
  prefix: string;
  /** The jail's name for fault scopes; undefined on the host or in a chroot. */
  jailName: string | undefined;
  yes: boolean;
  quiet: boolean;
  faults: Faults;
}

function globalUsage(io: Io, reason?: string): number {
  if (reason !== undefined) io.err(`pkg: ${reason}\n`);
  io.err(USAGE_LINE);
  io.err("\nFor more information on available commands and options see 'pkg help'.\n");
  return 1;
}

function isYesValue(v: string | undefined): boolean {
  return v !== undefined && ["yes", "true", "on", "1"].includes(v.toLowerCase());
}

/** humanize prints a size as pkg does (humanize_number, IEC prefixes, at most three digits). */
export function humanize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (Math.round(v) > 999 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Math.round(v)} ${units[u]}`;
}

function nameVersion(p: { name: string; version: string }): string {
  return `${p.name}-${p.version}`;
}

function globRe(pattern: string, insensitive: boolean): RegExp {
  const re = pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`, insensitive ? "i" : "");
}

type Match = "exact" | "glob" | "regex" | "all";

function matches(p: { name: string; version: string; origin: string }, pattern: string, how: Match, insensitive: boolean): boolean {
  const eq = (a: string, b: string): boolean => (insensitive ? a.toLowerCase() === b.toLowerCase() : a === b);
  switch (how) {
    case "all":
      return true;
    case "exact":
      return eq(p.name, pattern) || eq(p.origin, pattern) || eq(nameVersion(p), pattern);
    case "glob": {
      const re = globRe(pattern, insensitive);
      return re.test(p.name) || re.test(nameVersion(p)) || re.test(p.origin);
    }
    case "regex": {
      const re = new RegExp(pattern, insensitive ? "i" : "");
      return re.test(p.name) || re.test(nameVersion(p));
    }
  }
}

function progress(t: Target, text: string): void {
  if (!t.quiet) t.io.out(`${t.prefix}${text}`);
}

/** askYes is query_yesno(): the prompt on stdout, the answer read from stdin; anything but y/yes is no. */
function askYes(t: Target, prompt: string): boolean {
  t.io.out(`${prompt}[y/N]: `);
  let answer = "";
  try {
    answer = readFileSync(0, "utf8").split("\n")[0] ?? "";
  } catch {
    answer = "";
  }
  const yes = /^\s*y(es)?\s*$/i.test(answer);
  if (answer === "") t.io.out("\n");
  return yes;
}

function updateRepos(t: Target, reponames: string[]): number {
  const unknown = reponames.filter((r) => r !== REPO);
  const wanted = reponames.length === 0 || reponames.includes(REPO);
  if (wanted) {
    if (!t.quiet) t.io.out(`Updating ${REPO} repository catalogue...\n${REPO} repository is up to date.\n`);
  }
  for (const r of unknown) t.io.err(`WARNING: repository '${r}' does not exist\n`);
  if (!wanted) {
    if (!t.quiet) t.io.out("No repositories are enabled.\n");
    return 3;
  }
  if (!t.quiet) t.io.out(reponames.length === 0 ? "All repositories are up to date.\n" : `${reponames.join(", ")} ${reponames.length === 1 ? "is" : "are"} up to date.\n`);
  return 0;
}

// ------------------------------------------------------------------ install

function install(t: Target, argv: readonly string[]): number {
  const g = bsdGetopt("pkg", argv, "ACfFgiIlMnqr:RUxXy");
  const usage = (): number => {
    t.io.err("Usage: pkg install [-ACfFgiIlMnqRUxy] [--autoremove] [-r reponame] <pkg-name> ...\n\nFor more information see 'pkg help install'.\n");
    return 1;
  };
  if (!g.ok) {
    t.io.err(g.message);
    return usage();
  }
  let how: Match = "exact";
  let insensitive = false, force = false, fetchOnly = false, dryRun = false, automatic = false, autoUpdate = true;
  const reponames: string[] = [];
  for (const o of g.value.options) {
    switch (o.flag) {
      case "A":
        automatic = true;
        break;
      case "C":
        insensitive = false;
        break;
      case "f":
        force = true;
        break;
      case "F":
        fetchOnly = true;
        break;
      case "g":
        how = "glob";
        break;
      case "i":
        insensitive = true;
        break;
      case "l":
      case "U":
        autoUpdate = false;
        break;
      case "n":
        dryRun = true;
        break;
      case "q":
        t.quiet = true;
        break;
      case "r":
        reponames.push(o.arg ?? "");
        break;
      case "x":
        how = "regex";
        break;
      case "y":
        t.yes = true;
        break;
    }
  }
  const patterns = g.value.rest;
  if (patterns.length < 1) return usage();
  if (reponames.length > 0 || autoUpdate) {
    const u = updateRepos(t, autoUpdate ? reponames : reponames.filter((r) => r !== REPO));
    if (u !== 0) return u;
  }
  const catalogue = loadCatalogue(t.ctx.sim);
  const db = readDb(t.root);
  const installed = db?.packages ?? [];
  const chosen: CatalogueEntry[] = [];
  let missing = false;
  for (const pat of patterns) {
    const found = catalogue.filter((c) => matches(c, pat, how, insensitive));
    if (found.length === 0) {
      t.io.err(`pkg: No packages available to install matching '${pat}' have been found in the repositories\n`);
      missing = true;
      continue;
    }
    for (const f of how === "exact" ? found.slice(0, 1) : found) if (!chosen.includes(f)) chosen.push(f);
  }
  if (missing) return 1;
  const jobs = chosen
    .map((c) => ({ c, old: installed.find((p) => p.name === c.name) }))
    .filter((j) => j.old === undefined || j.old.version !== j.c.version || force)
    .sort((a, b) => (a.c.name < b.c.name ? -1 : 1));
  if (jobs.length === 0) {
    if (!t.quiet) t.io.out("The most recent versions of packages are already installed\n");
    return 0;
  }
  if (!t.quiet || dryRun) {
    const fresh = jobs.filter((j) => j.old === undefined);
    const up = jobs.filter((j) => j.old !== undefined && j.old.version !== j.c.version);
    const re = jobs.filter((j) => j.old !== undefined && j.old.version === j.c.version);
    let out = `The following ${jobs.length} package(s) will be affected (of 0 checked):\n\n`;
    const sections: string[] = [];
    if (fresh.length > 0) sections.push(`New packages to be INSTALLED:\n${fresh.map((j) => `\t${j.c.name}: ${j.c.version}\n`).join("")}`);
    if (up.length > 0) sections.push(`Installed packages to be UPGRADED:\n${up.map((j) => `\t${j.c.name}: ${j.old?.version ?? ""} -> ${j.c.version}\n`).join("")}`);
    if (re.length > 0) sections.push(`Installed packages to be REINSTALLED:\n${re.map((j) => `\t${nameVersion(j.c)}\n`).join("")}`);
    out += `${sections.join("\n")}\n`;
    if (fresh.length > 0) out += `Number of packages to be installed: ${fresh.length}\n`;
    if (up.length > 0) out += `Number of packages to be upgraded: ${up.length}\n`;
    if (re.length > 0) out += `Number of packages to be reinstalled: ${re.length}\n`;
    const grow = jobs.reduce((n, j) => n + j.c.flatsize - (j.old?.flatsize ?? 0), 0);
    const dl = jobs.reduce((n, j) => n + j.c.pkgsize, 0);
    out += `\nThe process will require ${humanize(Math.abs(grow))} ${grow >= 0 ? "more" : "less"} space.\n${humanize(dl)} to be downloaded.\n`;
    t.io.out(out);
  }
  if (dryRun) return 0;
  if (!t.quiet && !t.yes && !askYes(t, "\nProceed with this action? ")) return 1;
  const n = jobs.length;
  // pkg opens (and so creates) the local database before it fetches.
  changeDb(t.ctx.sim, t.root, () => undefined);
  jobs.forEach((j, i) => progress(t, `[${i + 1}/${n}] Fetching ${nameVersion(j.c)}.pkg: .......... done\n`));
  if (fetchOnly) return 0;
  if (!t.quiet) t.io.out("Checking integrity... done (0 conflicting)\n");
  const faults = t.faults;
  for (const [i, j] of jobs.entries()) {
    const verb = j.old === undefined ? "Installing" : j.old.version === j.c.version ? "Reinstalling" : "Upgrading";
    progress(t, j.old === undefined || j.old.version === j.c.version ? `[${i + 1}/${n}] ${verb} ${nameVersion(j.c)}...\n` : `[${i + 1}/${n}] ${verb} ${j.c.name} from ${j.old.version} to ${j.c.version}...\n`);
    if (faultHits(faults.pkgInstallFail, t.jailName, j.c.name)) {
      t.io.err("pkg: PRE-INSTALL script failed\n");
      return 3;
    }
    const files = installScripts(t.root, j.c.name, j.c.version, j.c.services);
    addUsers(t.root, j.c.users ?? []);
    changeDb(t.ctx.sim, t.root, (d) => {
      d.packages = d.packages.filter((p) => p.name !== j.c.name);
      d.packages.push({
        name: j.c.name,
        version: j.c.version,
        origin: j.c.origin,
        comment: j.c.comment,
        maintainer: j.c.maintainer,
        www: j.c.www,
        flatsize: j.c.flatsize,
        pkgsize: j.c.pkgsize,
        automatic: j.old?.automatic ?? automatic,
        locked: false,
        timestamp: Math.floor(Date.now() / 1000),
        repository: REPO,
        files,
      });
    });
    progress(t, `[${i + 1}/${n}] Extracting ${nameVersion(j.c)}: .......... done\n`);
  }
  return 0;
}

/** addUsers creates a package's users and their groups in the root's passwd(5) and group(5), as pkg's pre-install scripts do. */
function addUsers(root: string, users: readonly { name: string; id: number }[]): void {
  if (users.length > 0) mkdirSync(under(root, "/etc"), { recursive: true });
  for (const u of users) {
    const passwd = under(root, "/etc/passwd");
    const group = under(root, "/etc/group");
    const read = (f: string): string => (existsSync(f) ? readFileSync(f, "utf8") : "");
    if (!read(passwd).split("\n").some((l) => l.startsWith(`${u.name}:`))) appendFileSync(passwd, `${u.name}:*:${u.id}:${u.id}:${u.name} user:/nonexistent:/usr/sbin/nologin\n`);
    if (!read(group).split("\n").some((l) => l.startsWith(`${u.name}:`))) appendFileSync(group, `${u.name}:*:${u.id}:\n`);
  }
}

// ------------------------------------------------------------------ delete

function removeFiles(root: string, p: InstalledPackage): void {
  for (const f of p.files) rmSync(under(root, f), { force: true });
}

function del(t: Target, argv: readonly string[]): number {
  const g = bsdGetopt("pkg", argv, "aCDfG:ginqRxy");
  const usage = (): number => {
    t.io.err("Usage: pkg delete [-DfnqRy] [--autoremove] [-Cgix] [-G glob] <pkg-name> ...\n       pkg delete [-Dnqy] [--autoremove] [-G glob] -a\n\nFor more information see 'pkg help delete'.\n");
    return 1;
  };
  if (!g.ok) {
    t.io.err(g.message);
    return usage();
  }
  let how: Match = "exact";
  let insensitive = false, force = false, dryRun = false;
  const excludes: string[] = [];
  for (const o of g.value.options) {
    switch (o.flag) {
      case "a":
        how = "all";
        break;
      case "C":
        insensitive = false;
        break;
      case "f":
        force = true;
        break;
      case "G":
        excludes.push(o.arg ?? "");
        break;
      case "g":
        how = "glob";
        break;
      case "i":
        insensitive = true;
        break;
      case "n":
        dryRun = true;
        break;
      case "q":
        t.quiet = true;
        break;
      case "x":
        how = "regex";
        break;
      case "y":
        t.yes = true;
        break;
    }
  }
  const patterns = g.value.rest;
  if (patterns.length < 1 && how !== "all") return usage();
  const db = readDb(t.root);
  if (db === undefined) {
    t.io.err("pkg: No packages installed.  Nothing to do!\n");
    return 0;
  }
  if (how === "exact" && patterns.some((p) => p.includes("*"))) how = "glob";
  let chosen: InstalledPackage[] = [];
  if (how === "all") chosen = [...db.packages];
  else {
    for (const pat of patterns) {
      const found = db.packages.filter((p) => matches(p, pat, how, insensitive));
      if (found.length === 0 && !t.quiet) t.io.out(`No packages matched for pattern '${pat}'\n\n`);
      for (const f of found) if (!chosen.includes(f)) chosen.push(f);
    }
  }
  chosen = chosen.filter((p) => !excludes.some((g2) => globRe(g2, false).test(p.name)));
  const vital = chosen.filter((p) => p.name === "pkg" && !force);
  if (vital.length > 0 && how !== "all") {
    t.io.err("pkg: Cannot delete pkg itself without force flag\n");
    return 3;
  }
  chosen = chosen.filter((p) => !vital.includes(p));
  if (chosen.length === 0) {
    if (patterns.length === 0) {
      if (!t.quiet) t.io.out("Nothing to do.\n");
      return 0;
    }
    if (!t.quiet) t.io.out(`${patterns.length} packages requested for removal: 0 locked, ${patterns.length} missing\n`);
    return 1;
  }
  chosen.sort((a, b) => (a.name < b.name ? -1 : 1));
  if (!t.quiet || dryRun) {
    if (!t.quiet) {
      const free = chosen.reduce((n, p) => n + p.flatsize, 0);
      t.io.out(
        `Deinstallation has been requested for the following ${chosen.length} packages (of ${db.packages.length} packages in the universe):\n\n` +
          `Installed packages to be REMOVED:\n${chosen.map((p) => `\t${p.name}: ${p.version}\n`).join("")}\n` +
          `Number of packages to be removed: ${chosen.length}\n\nThe operation will free ${humanize(free)}.\n`,
      );
    }
    if (dryRun) return 0;
    if (!t.yes && !askYes(t, "\nProceed with deinstalling packages? ")) return 1;
  }
  const faults = t.faults;
  const n = chosen.length;
  for (const [i, p] of chosen.entries()) {
    progress(t, `[${i + 1}/${n}] Deinstalling ${nameVersion(p)}...\n`);
    if (faultHits(faults.pkgDeleteFail, t.jailName, p.name)) {
      t.io.err("pkg: PRE-DEINSTALL script failed\n");
      return 3;
    }
    removeFiles(t.root, p);
    changeDb(t.ctx.sim, t.root, (d) => {
      d.packages = d.packages.filter((x) => x.name !== p.name);
    });
    progress(t, `[${i + 1}/${n}] Deleting files for ${nameVersion(p)}: .......... done\n`);
  }
  return 0;
}

// ------------------------------------------------------------------ info and query

function infoBlock(p: InstalledPackage): string {
  const ts = new Date(p.timestamp * 1000).toUTCString();
  const row = (k: string, v: string): string => `${k.padEnd(15)}: ${v}\n`;
  return (
    `${nameVersion(p)}\n` +
    row("Name", p.name) +
    row("Version", p.version) +
    row("Installed on", ts) +
    row("Origin", p.origin) +
    row("Architecture", ABI) +
    row("Prefix", "/usr/local") +
    row("Categories", p.origin.split("/")[0] ?? "") +
    row("Licenses", "") +
    row("Maintainer", p.maintainer) +
    row("WWW", p.www) +
    row("Comment", p.comment) +
    "Annotations    :\n" +
    `\tFreeBSD_version: 1402000\n\trepo_type      : binary\n\trepository     : ${p.repository}\n` +
    row("Flat size", humanize(p.flatsize).replace(" ", "")) +
    "Description    :\n" +
    `${p.comment}\n`
  );
}

function info(t: Target, argv: readonly string[]): number {
  const g = bsdGetopt("pkg", argv, "aAbBcCdDeEfF:gIiklOoqrRsx");
  const usage = (): number => {
    t.io.err("Usage: pkg info <pkg-name>\n       pkg info -a\n       pkg info [-AbBDdefIklOqRrs] [-Cgix] <pkg-name>\n       pkg info [-AbBDdfIlqRrs] -F <pkg-file>\n\nFor more information see 'pkg help info'.\n");
    return 1;
  };
  if (!g.ok) {
    t.io.err(g.message);
    return usage();
  }
  let how: Match = "exact";
  let insensitive = false, exists = false, quiet = false;
  for (const o of g.value.options) {
    if (o.flag === "a") how = "all";
    else if (o.flag === "g") how = "glob";
    else if (o.flag === "x") how = "regex";
    else if (o.flag === "i") insensitive = true;
    else if (o.flag === "e") exists = true;
    else if (o.flag === "q") quiet = true;
  }
  const patterns = g.value.rest;
  // info.c: `pkg info` and `pkg info -q` alone list everything.
  if (argv.length === 0 || (argv.length === 1 && quiet)) how = "all";
  if (patterns.length === 0 && how !== "all") return usage();
  const db = readDb(t.root);
  if (db === undefined) {
    if (how === "all") return 0;
    if (!quiet) t.io.err("pkg: No packages installed\n");
    return 1;
  }
  if (how === "all") {
    for (const p of db.packages) t.io.out(quiet ? `${nameVersion(p)}\n` : `${nameVersion(p).padEnd(30)} ${p.comment}\n`);
    return 0;
  }
  let status = 0;
  for (const pat of patterns) {
    const found = db.packages.filter((p) => matches(p, pat, how === "exact" && /[*?[]/.test(pat) ? "glob" : how, insensitive));
    if (found.length === 0) {
      if (!quiet && !exists) t.io.err(`pkg: No package(s) matching ${pat}\n`);
      status = 1;
      continue;
    }
    if (exists) continue;
    for (const p of found) t.io.out(quiet ? `${nameVersion(p)}\n` : infoBlock(p));
  }
  return status;
}

/** queryFormat expands a `pkg query` format for one package. Lists (%d…, %r…, %F…) are empty in the simulator. */
export function queryFormat(fmt: string, p: InstalledPackage): string | undefined {
  let out = "";
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i] ?? "";
    if (c === "\\") {
      const d = fmt[++i] ?? "";
      out += d === "n" ? "\n" : d === "t" ? "\t" : d;
      continue;
    }
    if (c !== "%") {
      out += c;
      continue;
    }
    const f = fmt[++i] ?? "";
    switch (f) {
      case "n": out += p.name; break;
      case "v": out += p.version; break;
      case "o": out += p.origin; break;
      case "p": out += "/usr/local"; break;
      case "m": out += p.maintainer; break;
      case "c": out += p.comment; break;
      case "e": out += p.comment; break;
      case "w": out += p.www; break;
      case "l": out += "single"; break;
      case "a": out += p.automatic ? "1" : "0"; break;
      case "k": out += p.locked ? "1" : "0"; break;
      case "V": out += p.name === "pkg" ? "1" : "0"; break;
      case "t": out += String(p.timestamp); break;
      case "q": out += ABI; break;
      case "R": out += p.repository; break;
      case "M": break;
      case "%": out += "%"; break;
      case "s": {
        const k = fmt[++i] ?? "";
        out += k === "b" ? String(p.flatsize) : humanize(p.flatsize).replace(" ", "");
        break;
      }
      case "d": case "r": case "F": case "O": case "D": case "S": case "A":
        return undefined; // a multiline list: no lines for a package without entries
      case "?": case "#":
        i++;
        out += f === "#" ? "0" : "0";
        break;
      default:
        out += `%${f}`;
    }
  }
  return out;
}

function query(t: Target, argv: readonly string[]): number {
  const g = bsdGetopt("pkg", argv, "aCe:F:gix");
  const usage = (): number => {
    t.io.err("Usage: pkg query <query-format> <pkg-name>\n       pkg query [-a] <query-format>\n       pkg query -F <pkg-name> <query-format>\n       pkg query -e <evaluation> <query-format>\n       pkg query [-Cgix] <query-format> <pattern> <...>\n\nFor more information see 'pkg help query.'\n");
    return 1;
  };
  if (!g.ok) {
    t.io.err(g.message);
    return usage();
  }
  let how: Match = "exact";
  let insensitive = false;
  for (const o of g.value.options) {
    if (o.flag === "a") how = "all";
    else if (o.flag === "g") how = "glob";
    else if (o.flag === "x") how = "regex";
    else if (o.flag === "i") insensitive = true;
    else if (o.flag === "e" || o.flag === "F") {
      t.io.err(`pkg: the simulator does not implement pkg query -${o.flag}\n`);
      return 70;
    }
  }
  const [fmt, ...patterns] = g.value.rest;
  if (fmt === undefined) return usage();
  if (!fmt.includes("%")) {
    t.io.err("Invalid query: query should contain a format string\n");
    return 1;
  }
  if (patterns.length === 0) how = "all";
  const db = readDb(t.root);
  if (db === undefined) {
    if (!t.quiet) t.io.err("pkg: No packages installed\n");
    return 0;
  }
  let printed = 0;
  for (const pat of how === "all" ? [""] : patterns) {
    for (const p of db.packages.filter((x) => matches(x, pat, how, insensitive))) {
      printed++;
      const line = queryFormat(fmt, p);
      if (line !== undefined) t.io.out(`${line}\n`);
    }
  }
  return printed === 0 && how !== "all" ? 1 : 0;
}

// ------------------------------------------------------------------ the rest

function config(t: Target, argv: readonly string[], rootdir: string | undefined): number {
  const key = (argv[0] ?? "").toUpperCase();
  const base = rootdir ?? "";
  const values: Record<string, string> = {
    PKG_DBDIR: `${base}${PKGDB_DIR}`,
    PKG_CACHEDIR: `${base}/var/cache/pkg`,
    ABI,
    ASSUME_ALWAYS_YES: t.yes ? "yes" : "no",
    REPOS_DIR: "/etc/pkg/, /usr/local/etc/pkg/repos/",
  };
  if (argv.length !== 1) {
    t.io.err("Usage: pkg config <name>\n\nFor more information see 'pkg help config'.\n");
    return 1;
  }
  const v = values[key];
  if (v === undefined) {
    t.io.err(`pkg: No such configuration options: ${key}\n`);
    return 1;
  }
  t.io.out(`${v}\n`);
  return 0;
}

function help(io: Io): number {
  io.out(USAGE_LINE);
  io.out("Global options supported:\n");
  for (const [f, d] of [
    ["-d", "Increment debug level"], ["-j", "Execute pkg(8) inside a jail(8)"], ["-r", "Execute pkg(8) using relocating installation to <rootdir>"],
    ["-c", "Execute pkg(8) inside a chroot(8)"], ["-C", "Use the specified configuration file"], ["-R", "Directory to search for individual repository configurations"],
    ["-l", "List available commands and exit"], ["-v", "Display pkg(8) version"], ["-N", "Test if pkg(8) is activated and avoid auto-activation"],
    ["-o", "Override configuration option from the command line"], ["-4", "Only use IPv4"], ["-6", "Only use IPv6"],
  ] as const) io.out(`\t${f.padEnd(15)}${d}\n`);
  io.out("\nCommands supported:\n");
  for (const c of COMMANDS) io.out(`\t${c}\n`);
  io.out("\nFor more information on the different commands see 'pkg help <command>'.\n");
  return 0;
}

/** bootstrap is pkg(7) in a jail without pkg: returns undefined to go on, or an exit status. */
function bootstrapInJail(t: Target): number | undefined {
  const db = readDb(t.root);
  if (db?.packages.some((p) => p.name === "pkg") === true) return undefined;
  if (!t.yes) {
    t.io.out("The package management tool is not yet installed on your system.\nDo you want to fetch and install it now? [y/N]: ");
    let answer = "";
    try {
      answer = readFileSync(0, "utf8").split("\n")[0] ?? "";
    } catch {
      answer = "";
    }
    if (!/^\s*y/i.test(answer)) {
      if (answer === "") t.io.out("\n");
      return 1;
    }
  }
  t.io.out(`Bootstrapping pkg from pkg+https://pkg.FreeBSD.org/${ABI}/quarterly, please wait...\n`);
  t.io.out("Verifying signature with trusted certificate pkg.freebsd.org.2013102301... done\n");
  const pkgEntry = loadCatalogue(t.ctx.sim).find((c) => c.name === "pkg");
  if (pkgEntry !== undefined) {
    progress(t, `Installing ${nameVersion(pkgEntry)}...\n`);
    changeDb(t.ctx.sim, t.root, (d) => {
      d.packages.push({
        name: "pkg", version: pkgEntry.version, origin: pkgEntry.origin, comment: pkgEntry.comment, maintainer: pkgEntry.maintainer, www: pkgEntry.www,
        flatsize: pkgEntry.flatsize, pkgsize: pkgEntry.pkgsize, automatic: false, locked: false, timestamp: Math.floor(Date.now() / 1000), repository: REPO, files: [],
      });
    });
    progress(t, `Extracting ${nameVersion(pkgEntry)}: .......... done\n`);
  }
  return undefined;
}

/** runPkg is pkg(8). */
export function runPkg(argv: readonly string[], ctx: Ctx): number {
  const io = ctx.io;
  // Long global options as getopt_long knows them.
  const long: Record<string, string> = { "--debug": "-d", "--jail": "-j", "--chroot": "-c", "--config": "-C", "--repo-conf-dir": "-R", "--rootdir": "-r", "--list": "-l", "--version": "-v", "--option": "-o" };
  const mapped: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (!a.startsWith("-") || a === "--") {
      mapped.push(...argv.slice(i));
      break;
    }
    const eq = a.indexOf("=");
    const head = eq >= 0 ? a.slice(0, eq) : a;
    if (long[head] !== undefined) {
      mapped.push(long[head] ?? "");
      if (eq >= 0) mapped.push(a.slice(eq + 1));
    } else mapped.push(a);
  }
  const g = bsdGetopt("pkg", mapped, "dj:c:C:R:r:lNvo:46");
  if (!g.ok) {
    io.err(g.message);
    io.err("pkg: Invalid argument provided\n");
    return 1;
  }
  let jail: string | undefined, chroot: string | undefined, rootdir: string | undefined;
  let version = 0, list = false, activation = false;
  let yes = isYesValue(ctx.env.ASSUME_ALWAYS_YES);
  for (const o of g.value.options) {
    switch (o.flag) {
      case "j":
        jail = o.arg;
        break;
      case "c":
        chroot = o.arg;
        break;
      case "r":
        rootdir = o.arg;
        break;
      case "l":
        list = true;
        break;
      case "N":
        activation = true;
        break;
      case "v":
        version++;
        break;
      case "o": {
        const [k = "", v = ""] = (o.arg ?? "").split("=");
        if (k.toUpperCase() === "ASSUME_ALWAYS_YES") yes = isYesValue(v);
        break;
      }
    }
  }
  const rest = g.value.rest;
  if (version === 1) {
    io.out(`${PKG_VERSION}\n`);
    return 0;
  }
  if (list) {
    for (const c of COMMANDS) io.out(`${c}\n`);
    return 0;
  }
  if (rest.length === 0 && !activation) return globalUsage(io, "no commands specified");
  if ([jail, chroot, rootdir].filter((x) => x !== undefined).length > 1) return globalUsage(io, "-j, -c and/or -r cannot be used at the same time!\n");

  let root: string;
  let prefix = "";
  let jailName: string | undefined;
  let realRootdir: string | undefined;
  const here = currentJail(ctx);
  if (chroot !== undefined) {
    const real = here === undefined ? resolve(ctx.cwd, chroot) : under(fsRoot(ctx), chroot);
    if (!existsSync(real) || !statSync(real).isDirectory()) {
      io.err(`pkg: chroot failed: ${existsSync(real) ? "Not a directory" : "No such file or directory"}\n`);
      return 1;
    }
    root = real;
  } else if (jail !== undefined) {
    const j = here === undefined ? findJail(readState(ctx.sim), jail) : undefined;
    if (j === undefined) {
      io.err(`pkg: ${notFoundMessage(jail)}\n`);
      return 1;
    }
    root = jailRoot(ctx.sim, j);
    prefix = `[${String(j.params["host.hostname"] ?? j.name)}] `;
    jailName = j.name;
  } else if (rootdir !== undefined) {
    const real = here === undefined ? resolve(ctx.cwd, rootdir) : under(fsRoot(ctx), rootdir);
    try {
      realRootdir = realpathSync(real);
    } catch {
      io.err("pkg: Invalid rootdir: No such file or directory\n");
      return 1;
    }
    root = realRootdir;
  } else {
    root = fsRoot(ctx);
    if (here !== undefined) {
      prefix = `[${String(here.params["host.hostname"] ?? here.name)}] `;
      jailName = here.name;
    }
  }
  const t: Target = { ctx, io, root, prefix, jailName, yes, quiet: false, faults: loadFaults(ctx.sim, ctx.env) };
  if (activation) {
    const db = readDb(root);
    if (db === undefined) {
      io.err("pkg: package database non-existent\n");
      return 1;
    }
    if (db.packages.length === 0) {
      io.err("pkg: no packages registered\n");
      return 1;
    }
    io.err(`pkg: ${db.packages.length} packages installed\n`);
    return 0;
  }
  if (here !== undefined && jail === undefined && chroot === undefined && rootdir === undefined && (ctx.prog === "pkg" || ctx.prog === "/usr/sbin/pkg")) {
    const b = bootstrapInJail(t);
    if (b !== undefined) return b;
  }
  const [cmdIn = "", ...args] = rest;
  let cmd = ALIASES[cmdIn] ?? cmdIn;
  if (!COMMANDS.includes(cmd)) {
    const candidates = COMMANDS.filter((c) => c.startsWith(cmd));
    if (candidates.length === 1) cmd = candidates[0] ?? cmd;
    else if (candidates.length > 1) {
      io.err(`pkg: Ambiguous command: ${cmdIn}, could be:\n${candidates.map((c) => `\t${c}\n`).join("")}`);
      return 1;
    } else {
      io.err(`pkg: unknown command: ${cmdIn}\n\nFor more information on available commands and options see 'pkg help'.\n`);
      return 1;
    }
  }
  switch (cmd) {
    case "install":
      return install(t, args);
    case "delete":
      return del(t, args);
    case "info":
      return info(t, args);
    case "query":
      return query(t, args);
    case "update": {
      if (args.includes("-q")) t.quiet = true;
      return updateRepos(t, []);
    }
    case "upgrade": {
      if (args.includes("-q")) t.quiet = true;
      const u = updateRepos(t, []);
      if (u !== 0) return u;
      if (!t.quiet) t.io.out("Checking integrity... done (0 conflicting)\nYour packages are up to date.\n");
      return 0;
    }
    case "autoremove":
      if (readDb(root) === undefined) {
        io.err("pkg: No packages installed.  Nothing to do!\n");
        return 0;
      }
      io.out("Checking integrity... done (0 conflicting)\nNothing to do.\n");
      return 0;
    case "bootstrap":
      io.out("pkg(8) already installed, use -f to force.\n");
      return 0;
    case "config":
      return config(t, args, realRootdir);
    case "help":
      return help(io);
    case "version":
      if (readDb(root) === undefined) return 0;
      for (const p of readDb(root)?.packages ?? []) io.out(`${nameVersion(p).padEnd(35)} =\n`);
      return 0;
    default:
      io.err(`pkg: the simulator does not implement 'pkg ${cmd}'\n`);
      return 70;
  }
}

export { dbPath };
