// Every operation Roster serves, through the official `openai` npm package; every response body
// is validated against the contract (see harness.mjs), and a violation fails the test.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import OpenAI from 'openai';

import { Roster, writeCoverage } from './harness.mjs';

let roster;
let org;

before(async () => {
  roster = await Roster.start();
  org = roster.client().admin.organization;
});

after(async () => {
  await roster.stop();
  writeCoverage();
});

afterEach(() => {
  const found = roster.violations.splice(0);
  assert.deepEqual(found, [], 'every response body conforms to the contract');
});

async function all(page) {
  const items = [];
  for await (const item of page) items.push(item);
  return items;
}

async function rejects(promise, status, param) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof OpenAI.APIError, String(error));
    assert.equal(error.status, status);
    assert.equal(error.error?.param ?? error.param, param);
    return true;
  });
}

test('projects', async () => {
  const created = await org.projects.create({ name: 'Node' });
  assert.equal(created.object, 'organization.project');
  assert.equal((await org.projects.retrieve(created.id)).name, 'Node');
  assert.equal((await org.projects.update(created.id, { name: 'Node 2' })).name, 'Node 2');
  assert.ok((await all(org.projects.list({ limit: 1 }))).some((p) => p.id === created.id));
  assert.equal((await org.projects.archive(created.id)).status, 'archived');
  await rejects(org.projects.create({ name: '' }), 400, 'name');
  await rejects(org.projects.retrieve('proj_missing'), 404, 'project_id');
});

/** A self-signed CA certificate, valid for 30 days, made by openssl: [PEM, its private key]. */
function caCertificate(name) {
  const dir = mkdtempSync(path.join(tmpdir(), 'roster-ca-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '30', '-subj', `/CN=${name}`],
  { stdio: 'ignore' });
  const files = [readFileSync(path.join(dir, 'cert.pem'), 'utf8'), readFileSync(path.join(dir, 'key.pem'), 'utf8')];
  rmSync(dir, { recursive: true, force: true });
  return files;
}

test('certificates', async () => {
  const [pem, key] = caCertificate('Node CA');
  const created = await org.certificates.create({ certificate: pem, name: 'Clients' });
  assert.equal(created.object, 'certificate');
  assert.equal((await org.certificates.retrieve(created.id, { include: ['content'] })).certificate_details.content, pem.trim());
  assert.equal((await org.certificates.update(created.id, { name: 'Partners' })).name, 'Partners');
  assert.deepEqual((await all(org.certificates.list())).map((c) => [c.id, c.active]), [[created.id, false]]);
  assert.deepEqual((await all(org.certificates.activate({ certificate_ids: [created.id] }))).map((c) => c.active), [true]);
  await rejects(org.certificates.delete(created.id), 400, null);
  const project = await org.projects.create({ name: 'Node mTLS' });
  assert.deepEqual((await all(org.projects.certificates.list(project.id))).map((c) => c.active), [false]);
  assert.deepEqual((await all(org.projects.certificates.activate(project.id, { certificate_ids: [created.id] }))).map((c) => c.active), [true]);
  assert.deepEqual((await all(org.projects.certificates.deactivate(project.id, { certificate_ids: [created.id] }))).map((c) => c.active), [false]);
  assert.deepEqual((await all(org.certificates.deactivate({ certificate_ids: [created.id] }))).map((c) => c.active), [false]);
  assert.equal((await org.certificates.delete(created.id)).object, 'certificate.deleted');
  await rejects(org.certificates.retrieve(created.id), 404, 'certificate_id');
  await rejects(org.certificates.create({ certificate: key }), 400, 'certificate');
});

test('admin API keys', async () => {
  const key = await org.adminAPIKeys.create({ name: 'node' });
  assert.ok(key.value.startsWith('sk-admin-'));
  assert.equal((await org.adminAPIKeys.retrieve(key.id)).name, 'node');
  assert.ok((await all(org.adminAPIKeys.list())).some((k) => k.id === key.id));
  const other = roster.client(key.value).admin.organization;
  assert.ok((await other.projects.list()).data.length > 0);
  assert.equal((await org.adminAPIKeys.delete(key.id)).deleted, true);
  await assert.rejects(other.projects.list(), (e) => e.status === 401);
});

test('invites, users and project users', async () => {
  const project = await org.projects.create({ name: 'Members' });
  const invite = await org.invites.create({ email: 'ada@example.com', role: 'reader', projects: [{ id: project.id, role: 'member' }] });
  assert.equal(invite.status, 'pending');
  assert.equal((await org.invites.retrieve(invite.id)).email, 'ada@example.com');
  assert.ok((await all(org.invites.list())).some((i) => i.id === invite.id));
  const token = await roster.inviteToken('ada@example.com');
  const accepted = await roster.call('POST', `/v1/invites/${token}/accept`, { name: 'Ada' });
  assert.equal(accepted.status, 200);
  const ada = accepted.body.id;
  // Mailed, then withdrawn (read first: a withdrawal before the mail goes drops the mail).
  const stale = await org.invites.create({ email: 'bob@example.com', role: 'owner' });
  const spent = await roster.inviteToken('bob@example.com');
  assert.equal((await org.invites.delete(stale.id)).deleted, true);
  assert.equal((await roster.call('POST', `/v1/invites/${spent}/accept`, { name: 'Bob' })).status, 404);

  assert.equal((await org.users.retrieve(ada)).name, 'Ada');
  assert.deepEqual((await org.users.list({ emails: ['ada@example.com'] })).data.map((u) => u.id), [ada]);
  assert.equal((await org.users.update(ada, { role: 'owner' })).role, 'owner');

  const members = org.projects.users;
  assert.equal((await members.retrieve(ada, { project_id: project.id })).role, 'member');
  assert.equal((await members.update(ada, { project_id: project.id, role: 'owner' })).role, 'owner');
  const bob = await roster.addUser(roster.client(), 'bob@example.com');
  assert.equal((await members.create(project.id, { user_id: bob, role: 'member' })).id, bob);
  assert.deepEqual((await all(members.list(project.id))).map((m) => m.id), [ada, bob]);
  assert.equal((await members.delete(bob, { project_id: project.id })).deleted, true);
  await rejects(members.create(project.id, { user_id: 'user-nobody', role: 'member' }), 400, 'user_id');
  assert.equal((await org.users.delete(bob)).deleted, true);
});

test('audit logs', async () => {
  const project = await org.projects.create({ name: 'Audited' });
  const events = await all(org.auditLogs.list({ project_ids: [project.id], event_types: ['project.created'] }));
  assert.deepEqual(events.map((e) => e.type), ['project.created']);
  assert.equal(events[0].project.id, project.id);
  const recent = await org.auditLogs.list({ limit: 2, effective_at: { gte: events[0].effective_at } });
  assert.ok(recent.data.length >= 1);
  await rejects(org.auditLogs.list({ event_types: ['project.exploded'] }), 400, 'event_types[]');
});

test('roles and role assignments', async () => {
  const project = await org.projects.create({ name: 'Roles' });
  const ada = await roster.addUser(roster.client(), 'ada.roles@example.com');
  await org.projects.users.create(project.id, { user_id: ada, role: 'member' });

  const role = await org.roles.create({ role_name: 'Usage', permissions: ['api.usage.read'] });
  assert.equal((await org.roles.retrieve(role.id)).name, 'Usage');
  assert.deepEqual((await org.roles.update(role.id, { permissions: ['api.usage.read', 'api.groups.read'] })).permissions, ['api.usage.read', 'api.groups.read']);
  assert.ok((await all(org.roles.list())).some((r) => r.id === role.id && !r.predefined_role));
  await rejects(org.roles.create({ role_name: 'Usage', permissions: [] }), 400, 'role_name');

  const projectRole = await org.projects.roles.create(project.id, { role_name: 'Caller', permissions: ['api.model.request'] });
  assert.equal((await org.projects.roles.retrieve(projectRole.id, { project_id: project.id })).resource_type, 'api.project');
  assert.equal((await org.projects.roles.update(projectRole.id, { project_id: project.id, role_name: 'Callers' })).name, 'Callers');
  assert.ok((await all(org.projects.roles.list(project.id))).some((r) => r.name === 'member'));

  const assigned = await org.users.roles.create(ada, { role_id: role.id });
  assert.equal(assigned.object, 'user.role');
  assert.equal((await org.users.roles.retrieve(role.id, { user_id: ada })).id, role.id);
  assert.deepEqual((await all(org.users.roles.list(ada))).map((r) => r.name), ['reader', 'Usage']);
  assert.equal((await org.users.roles.delete(role.id, { user_id: ada })).deleted, true);

  const roles = org.projects.users.roles;
  await roles.create(ada, { project_id: project.id, role_id: projectRole.id });
  assert.equal((await roles.retrieve(projectRole.id, { project_id: project.id, user_id: ada })).name, 'Callers');
  assert.deepEqual((await all(roles.list(ada, { project_id: project.id }))).map((r) => r.name), ['member', 'Callers']);
  assert.equal((await roles.delete(projectRole.id, { project_id: project.id, user_id: ada })).deleted, true);

  assert.equal((await org.projects.roles.delete(projectRole.id, { project_id: project.id })).deleted, true);
  assert.equal((await org.roles.delete(role.id)).object, 'role.deleted');
});

test('groups', async () => {
  const project = await org.projects.create({ name: 'Grouped' });
  const ada = await roster.addUser(roster.client(), 'ada.groups@example.com');
  const group = await org.groups.create({ name: 'Eng' });
  assert.equal(group.group_type, 'group');
  assert.equal((await org.groups.retrieve(group.id)).name, 'Eng');
  assert.equal((await org.groups.update(group.id, { name: 'Engineering' })).name, 'Engineering');
  assert.ok((await all(org.groups.list())).some((g) => g.id === group.id));
  await rejects(org.groups.create({ name: '' }), 400, 'name');

  assert.equal((await org.groups.users.create(group.id, { user_id: ada })).object, 'group.user');
  assert.equal((await org.groups.users.retrieve(ada, { group_id: group.id })).id, ada);
  assert.deepEqual((await all(org.groups.users.list(group.id))).map((u) => u.id), [ada]);

  const role = await org.roles.create({ role_name: 'Group role', permissions: ['api.groups.read'] });
  assert.equal((await org.groups.roles.create(group.id, { role_id: role.id })).object, 'group.role');
  assert.equal((await org.groups.roles.retrieve(role.id, { group_id: group.id })).id, role.id);
  assert.deepEqual((await all(org.groups.roles.list(group.id))).map((r) => r.id), [role.id]);
  assert.equal((await org.groups.roles.delete(role.id, { group_id: group.id })).deleted, true);

  const access = await org.projects.groups.create(project.id, { group_id: group.id, role: 'role-api-project-viewer' });
  assert.equal(access.object, 'project.group');
  assert.equal((await org.projects.groups.retrieve(group.id, { project_id: project.id })).group_name, 'Engineering');
  assert.deepEqual((await all(org.projects.groups.list(project.id))).map((g) => g.group_id), [group.id]);
  const projectRole = await org.projects.roles.create(project.id, { role_name: 'Keys', permissions: [] });
  const groupRoles = org.projects.groups.roles;
  await groupRoles.create(group.id, { project_id: project.id, role_id: projectRole.id });
  assert.equal((await groupRoles.retrieve(projectRole.id, { project_id: project.id, group_id: group.id })).id, projectRole.id);
  assert.deepEqual((await all(groupRoles.list(group.id, { project_id: project.id }))).map((r) => r.name), ['viewer', 'Keys']);
  assert.equal((await groupRoles.delete(projectRole.id, { project_id: project.id, group_id: group.id })).deleted, true);
  assert.equal((await org.projects.groups.delete(group.id, { project_id: project.id })).deleted, true);

  assert.equal((await org.groups.users.delete(ada, { group_id: group.id })).deleted, true);
  assert.equal((await org.groups.delete(group.id)).object, 'group.deleted');
});

test('service accounts and project API keys', async () => {
  const project = await org.projects.create({ name: 'Machines' });
  const accounts = org.projects.serviceAccounts;
  const bot = await accounts.create(project.id, { name: 'bot' });
  assert.equal(bot.role, 'member');
  assert.ok(bot.api_key.value.startsWith('sk-svcacct-'));
  assert.equal((await accounts.retrieve(bot.id, { project_id: project.id })).name, 'bot');
  assert.equal((await accounts.update(bot.id, { project_id: project.id, role: 'owner' })).role, 'owner');
  assert.deepEqual((await all(accounts.list(project.id))).map((a) => a.id), [bot.id]);
  const extra = await accounts.apiKeys.create(bot.id, { project_id: project.id, name: 'extra' });
  assert.equal(extra.object, 'organization.project.service_account.api_key');

  const keys = org.projects.apiKeys;
  const listed = await keys.retrieve(extra.id, { project_id: project.id });
  assert.equal(listed.owner.type, 'service_account');
  assert.ok(!('value' in listed));
  assert.deepEqual((await all(keys.list(project.id))).map((k) => k.id).sort(), [bot.api_key.id, extra.id].sort());
  await rejects(keys.delete(extra.id, { project_id: project.id }), 400, 'api_key_id');

  const ada = await roster.addUser(roster.client(), 'ada.keys@example.com');
  await org.projects.users.create(project.id, { user_id: ada, role: 'member' });
  const own = await roster.call('POST', `/v1/organization/projects/${project.id}/users/${ada}/api_keys`, { name: 'laptop' });
  assert.equal(own.status, 200);
  assert.equal((await keys.retrieve(own.body.id, { project_id: project.id })).owner.user.id, ada);
  assert.equal((await keys.delete(own.body.id, { project_id: project.id })).deleted, true);
  assert.equal((await accounts.delete(bot.id, { project_id: project.id })).deleted, true);
});

test('project policies: model and hosted tool permissions, rate limits', async () => {
  const project = await org.projects.create({ name: 'Policies' });
  const bot = await org.projects.serviceAccounts.create(project.id, { name: 'bot' });
  const check = async (call) => (await roster.call('POST', '/v1/gateway/check', { api_key: bot.api_key.value, ...call })).body;

  const none = await org.projects.modelPermissions.retrieve(project.id);
  assert.deepEqual([none.mode, none.model_ids], ['deny_list', []]);
  const allowed = await org.projects.modelPermissions.update(project.id, { mode: 'allow_list', model_ids: ['gpt-4o'] });
  assert.deepEqual([allowed.mode, allowed.model_ids], ['allow_list', ['gpt-4o']]);
  assert.equal((await check({ model: 'o3' })).error.code, 'model_not_found');
  assert.equal((await org.projects.modelPermissions.delete(project.id)).deleted, true);
  assert.equal((await check({ model: 'o3' })).allowed, true);

  assert.equal((await org.projects.hostedToolPermissions.retrieve(project.id)).mcp.enabled, true);
  const off = await org.projects.hostedToolPermissions.update(project.id, { mcp: { enabled: false } });
  assert.deepEqual([off.mcp.enabled, off.web_search.enabled], [false, true]);
  assert.equal((await check({ tools: ['mcp'] })).status, 403);

  const limits = await all(org.projects.rateLimits.listRateLimits(project.id, { limit: 5 }));
  assert.ok(limits.some((l) => l.id === 'rl-gpt-4o-mini'));
  const updated = await org.projects.rateLimits.updateRateLimit('rl-gpt-4o-mini', {
    project_id: project.id,
    max_tokens_per_1_minute: 1000,
  });
  assert.deepEqual([updated.model, updated.max_tokens_per_1_minute], ['gpt-4o-mini', 1000]);
  assert.equal((await check({ model: 'gpt-4o-mini' })).rate_limit.max_tokens_per_1_minute, 1000);
  await rejects(
    org.projects.rateLimits.updateRateLimit('rl-gpt-4o-mini', { project_id: project.id, max_tokens_per_1_minute: 0 }),
    400,
    'max_tokens_per_1_minute',
  );
});
