import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { createApiKey } from '../kit/platform.ts';

const executablePath = '/usr/bin/chromium';
const available = existsSync(executablePath);
if (!available && process.env.CI) throw new Error(`Chromium is required in CI (${executablePath}); see .ci/run`);

/**
 * GraphiQL in a real browser (headless Chromium): the page renders, and a subscription authenticates with the
 * credential of the Headers tab, which GraphiQL's graphql-ws executor sends with every operation
 * (`extensions.headers`) while its `connection_init` carries none.
 */
describe.skipIf(!available)('GraphiQL in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApp();
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('renders GraphiQL and runs a subscription authenticated by the Headers tab', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${t.baseUrl}/graphql`);
    expect(response?.status()).toBe(200);
    expect(['br', 'gzip']).toContain(response?.headers()['content-encoding']);
    await page.waitForSelector('.graphiql-container', { timeout: 30_000 });
    expect(await page.title()).toBe('Atrium GraphiQL');

    // The frames GraphiQL's executor sends: connection_init without params, then subscribe with the tab's headers.
    const received = page.evaluate(
      ({ url, admin }) =>
        new Promise<string>((resolve, reject) => {
          const ws = new WebSocket(url, 'graphql-transport-ws');
          const timer = setTimeout(() => reject(new Error('no event within 15 s')), 15_000);
          ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
          ws.onmessage = (m) => {
            const msg = JSON.parse(String(m.data));
            if (msg.type === 'connection_ack') {
              ws.send(
                JSON.stringify({
                  id: '1',
                  type: 'subscribe',
                  payload: {
                    // A literal on purpose: this runs inside the page, as GraphiQL's own frame would.
                    query: 'subscription { auditEventRecorded { action } }',
                    extensions: { headers: { Authorization: `Bearer ${admin}` } },
                  },
                }),
              );
              (window as unknown as { subscribed: boolean }).subscribed = true;
            } else if (msg.type === 'next') {
              clearTimeout(timer);
              resolve(JSON.stringify(msg.payload));
              ws.close();
            } else if (msg.type === 'error') {
              clearTimeout(timer);
              reject(new Error(JSON.stringify(msg.payload)));
            }
          };
          ws.onclose = (e) => reject(new Error(`closed ${e.code} ${e.reason}`));
        }),
      { url: `${t.baseUrl.replace('http', 'ws')}/graphql`, admin: t.adminKey },
    );
    await page.waitForFunction(() => (window as unknown as { subscribed?: boolean }).subscribed === true);
    await new Promise((r) => setTimeout(r, 200));
    await createApiKey(t.baseUrl, t.adminKey, { product: 'atrium', name: 'from-browser-test', scopes: [] });
    const payload = JSON.parse(await received);
    expect(payload.errors).toBeUndefined();
    expect(payload.data.auditEventRecorded.action).toBe('apiKey.created');
    await page.close();
  }, 60_000);
});
