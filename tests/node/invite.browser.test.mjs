// The invitation as a person receives it, in a real browser (Debian's chromium, driven by
// playwright-core): the link from the outbox email opened, read, accepted, and the pages of a
// used and an expired link; axe finds no serious or critical accessibility violation on any.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, afterEach, before, test } from 'node:test';

import AxeBuilder from '@axe-core/playwright';
import { chromium } from 'playwright-core';

import { Roster } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let roster;
let browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: scripts/test installs Debian's chromium`);
  // The emulator's clock lets the test expire an invitation.
  roster = await Roster.start({ args: ['--emulator'] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await roster?.stop();
});

afterEach(() => {
  const found = roster.violations.splice(0);
  assert.deepEqual(found, [], 'every response body conforms to the contract');
});

/** A page in a browser context of its own (axe needs one). */
async function newPage(options = {}) {
  const context = await browser.newContext(options);
  return context.newPage();
}

/** The serious and critical accessibility violations on the page, as "rule: where". */
async function accessibilityProblems(page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('a person opens the link from the email, reads it, accepts and is welcomed', async () => {
  const org = roster.client().admin.organization;
  const project = await org.projects.create({ name: 'Web & Mobile' });
  await org.invites.create({ email: 'bob@example.com', role: 'reader', projects: [{ id: project.id, role: 'member' }] });
  const link = await roster.inviteLink('bob@example.com');
  assert.ok(link.startsWith(`${roster.baseURL}/invite/`), link);

  const page = await newPage({ viewport: { width: 390, height: 844 } });
  const opened = await page.goto(link);
  assert.equal(opened.status(), 200);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Join Default Organization');
  const text = await page.locator('main').innerText();
  for (const fact of ['Admin (admin@localhost) invited bob@example.com', 'as a reader', 'Web & Mobile: member', 'in 7 days', 'UTC']) {
    assert.ok(text.includes(fact), `${fact} not on the page: ${text}`);
  }
  assert.ok(!text.includes('proj_'), 'projects by name, not id');
  // Roster's own stylesheet applies (CSP allows it and nothing else).
  const background = await page.evaluate(() => getComputedStyle(document.querySelector('main')).backgroundColor);
  assert.equal(background, 'rgb(255, 255, 255)');
  assert.deepEqual(await accessibilityProblems(page), []);

  await page.getByLabel('Your name').fill('Bob Builder');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Accept the invitation' }).click()]);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Welcome to Default Organization, Bob Builder');
  const welcome = await page.locator('main').innerText();
  assert.ok(welcome.includes('Web & Mobile: member'), welcome);
  assert.ok(welcome.includes('What comes next'), welcome);
  assert.deepEqual(await accessibilityProblems(page), []);

  // Over the API: the new user, and her project.
  const users = [];
  for await (const user of org.users.list({ emails: ['bob@example.com'] })) users.push(user);
  assert.equal(users.length, 1);
  assert.equal(users[0].name, 'Bob Builder');
  const members = [];
  for await (const member of org.projects.users.list(project.id)) members.push(member);
  assert.deepEqual(
    members.filter((m) => m.email === 'bob@example.com').map((m) => m.role),
    ['member'],
  );

  // The link again: used.
  const again = await page.goto(link);
  assert.equal(again.status(), 410);
  assert.ok((await page.locator('main').innerText()).includes('already accepted'));
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.context().close();
});

test('an expired link says so and what to do', async () => {
  const org = roster.client().admin.organization;
  await org.invites.create({ email: 'late@example.com', role: 'reader', projects: [] });
  const link = await roster.inviteLink('late@example.com');
  const moved = await roster.call('POST', '/v1/emulator/clock', { advance_seconds: 7 * 86_400 + 1 });
  assert.equal(moved.status, 200);

  const page = await newPage();
  const opened = await page.goto(link);
  assert.equal(opened.status(), 410);
  const text = await page.locator('main').innerText();
  assert.ok(text.includes('This invitation has expired'), text);
  assert.ok(text.includes('Ask Admin (admin@localhost) for a new invitation.'), text);
  assert.equal(await page.getByRole('button').count(), 0, 'nothing to accept');
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.context().close();
});
