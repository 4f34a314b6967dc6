// Starts the real `roster` binary and hands out official-SDK clients whose every response body
// is validated against the document Roster serves (the contract plus Roster's additions).

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Ajv2020 from 'ajv/dist/2020.js';
import OpenAI from 'openai';
import YAML from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BINARY = process.env.ROSTER_BIN ?? path.join(ROOT, 'target', 'debug', 'roster');
export const BOOTSTRAP_KEY = 'sk-admin-nodesuite0000000000000000000000000000000';

// The served document; every local $ref resolves against it, registered under a made-up URI.
const SPEC = YAML.parse(readFileSync(path.join(ROOT, 'openapi', 'roster.yaml'), 'utf8'));
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: false });
ajv.addSchema(SPEC, 'https://roster.local/openapi.yaml');
const OPERATIONS = Object.entries(SPEC.paths).flatMap(([template, item]) =>
  Object.keys(item)
    .filter((method) => ['get', 'post', 'delete'].includes(method))
    .map((method) => ({
      method: method.toUpperCase(),
      template,
      params: (template.match(/\{/g) ?? []).length,
      pattern: new RegExp('^/v1' + template.replace(/\{[^}]+\}/g, '[^/]+') + '$'),
    })),
);
/** Operations this suite got a 2xx from; `writeCoverage` records them for scripts/coverage.py. */
const EXERCISED = new Set();

export function writeCoverage() {
  const dir = path.join(ROOT, 'target', 'coverage');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'node.txt'), [...EXERCISED].sort().map((op) => `${op}\n`).join(''));
}

const pointer = (...parts) => parts.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** The contract violation in a response, naming the field's path; null if it conforms. */
export function violation(method, urlPath, status, body) {
  const matches = OPERATIONS.filter((op) => op.method === method && op.pattern.test(urlPath));
  if (matches.length === 0) return `${method} ${urlPath} is not an operation of the contract`;
  // A literal segment beats a parameter: prefer the template with the fewest parameters.
  const op = matches.reduce((a, b) => (b.params < a.params ? b : a));
  // Counted once it succeeded: an operation that only ever refused has not shown that it works.
  if (status >= 200 && status < 300) EXERCISED.add(SPEC.paths[op.template][method.toLowerCase()].operationId);
  const response = SPEC.paths[op.template][method.toLowerCase()].responses[String(status)];
  if (!response) return `${method} ${urlPath} answered ${status}, which the contract does not declare`;
  if (!response.content?.['application/json']?.schema) return null;
  const ref = `https://roster.local/openapi.yaml#/${pointer('paths', op.template, method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema')}`;
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  if (validate(body)) return null;
  const [first] = validate.errors;
  return `${method} ${urlPath} ${status}: at ${first.instancePath || '(root)'}: ${first.message}`;
}

let databases = 0;

function psql(adminUrl, command) {
  execFileSync('psql', [adminUrl, '-q', '-c', command], { stdio: 'ignore' });
}

export class Roster {
  /** `roster serve` with `args` added (such as `--emulator`). */
  static async start({ args = [] } = {}) {
    const dir = mkdtempSync(path.join(tmpdir(), 'roster-node-'));
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('ROSTER_') && !k.startsWith('OPENAI_')),
    );
    Object.assign(env, {
      ROSTER_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP_KEY,
      ROSTER_LOG_FORMAT: 'json',
      ROSTER_DATA_DIR: path.join(dir, 'data'),
    });
    // With ROSTER_TEST_BACKEND=postgres, each server has a PostgreSQL database of its own on
    // ROSTER_TEST_POSTGRES_URL's server, dropped when it stops.
    let database = null;
    if (process.env.ROSTER_TEST_BACKEND === 'postgres') {
      const adminUrl = process.env.ROSTER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
      database = { adminUrl, name: `roster_node_${process.pid}_${++databases}` };
      // ICU's en-US collation, as the Rust suite's databases (tests/it/common/mod.rs): no result
      // may rest on the C order of this machine's cluster.
      psql(adminUrl, `CREATE DATABASE ${database.name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`);
      env.ROSTER_DATABASE_URL = `${adminUrl.slice(0, adminUrl.lastIndexOf('/'))}/${database.name}`;
    }
    const child = spawn(BINARY, ['serve', '--listen', '127.0.0.1:0', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const baseURL = await new Promise((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`roster did not start: ${log}`)), 30_000);
      child.stderr.on('data', (chunk) => {
        log += chunk;
        for (const line of log.split('\n')) {
          try {
            const entry = JSON.parse(line);
            if (entry.fields?.message === 'roster is serving') {
              clearTimeout(timer);
              resolve(`http://${entry.fields.addr}`);
            }
          } catch {
            // Not a whole JSON line yet.
          }
        }
      });
      child.on('exit', (code) => reject(new Error(`roster exited with ${code}: ${log}`)));
    });
    return new Roster(child, dir, baseURL, database);
  }

  constructor(child, dir, baseURL, database = null) {
    this.database = database;
    this.child = child;
    this.dir = dir;
    this.baseURL = baseURL;
    this.violations = [];
  }

  /** The official SDK, changed only in its base URL; every body is checked against the contract. */
  client(key = BOOTSTRAP_KEY) {
    const check = async (url, init) => {
      const response = await fetch(url, init);
      const type = response.headers.get('content-type') ?? '';
      if (type.startsWith('application/json')) {
        const body = await response.clone().json();
        const found = violation(init?.method ?? 'GET', new URL(url).pathname, response.status, body);
        if (found) this.violations.push(found);
      }
      return response;
    };
    return new OpenAI({ adminAPIKey: key, apiKey: 'unused', baseURL: `${this.baseURL}/v1`, maxRetries: 0, fetch: check });
  }

  /** A raw call, for Roster's additions, checked like the SDK's. */
  async call(method, urlPath, body) {
    const response = await fetch(this.baseURL + urlPath, {
      method,
      headers: { authorization: `Bearer ${BOOTSTRAP_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json();
    const found = violation(method, urlPath, response.status, json);
    if (found) this.violations.push(found);
    return { status: response.status, body: json };
  }

  /** The link of an invitation mailed to `email` that this suite has not read yet, as written in the email. */
  async inviteLink(email) {
    return (await this.nextInvitation(email)).link;
  }

  /** The token of an invitation mailed to `email` that this suite has not read yet. */
  async inviteToken(email) {
    return (await this.nextInvitation(email)).token;
  }

  async nextInvitation(email) {
    const outbox = path.join(this.dir, 'data', 'outbox');
    this.read ??= new Set();
    for (let attempt = 0; attempt < 500; attempt += 1) {
      for (const file of readdirSync(outbox).filter((f) => f.endsWith('.eml'))) {
        // Quoted-printable soft line breaks undone, as a mail reader does.
        const text = readFileSync(path.join(outbox, file), 'utf8').replaceAll('=\r\n', '').replaceAll('=\n', '');
        const found = text.match(/(https?:\/\/[^\s"<>]+)?\/invite\/([A-Za-z0-9_-]+)/);
        const token = found?.[2];
        if (text.includes(`To: ${email}`) && token && !this.read.has(token)) {
          this.read.add(token);
          return { token, link: `${found[1] ?? this.baseURL}/invite/${token}` };
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no new invitation mailed to ${email}`);
  }

  /** Invites `email` and accepts the invitation; returns the new user's id. */
  async addUser(client, email, role = 'reader') {
    await client.admin.organization.invites.create({ email, role, projects: [] });
    const token = await this.inviteToken(email);
    const accepted = await this.call('POST', `/v1/invites/${token}/accept`, { name: email.split('@')[0] });
    return accepted.body.id;
  }

  async stop() {
    this.child.kill('SIGTERM');
    await new Promise((resolve) => this.child.once('exit', resolve));
    rmSync(this.dir, { recursive: true, force: true });
    if (this.database) psql(this.database.adminUrl, `DROP DATABASE IF EXISTS ${this.database.name} WITH (FORCE)`);
  }
}
