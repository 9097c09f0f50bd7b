import twilio from 'twilio';
import { craftTokens } from './support/crafted-jwts';
import { forgeWebhooks, GenuineWebhook, random } from './support/forged-webhooks';
import { ACCOUNT_SID, Actor, dataSnapshot, idleReference, pool, SecurityStack, SENDERS, serviceLog, startSecurityStack } from './support/security-stack';

const WEBHOOK_FORGERIES = Number(process.env.SECURITY_WEBHOOKS ?? 10_000);
const MAX_EVENT_LOOP_LAG_MS = 200;

interface Answer {
  status: number;
  text: string;
}

/** The counts the battery prints at the end. */
const report: Record<string, number | string> = {};

describe('npm run test:security: the attack battery against the built service', () => {
  let s: SecurityStack;
  beforeAll(async () => {
    s = await startSecurityStack();
  }, 120_000);
  afterAll(async () => {
    process.stdout.write(`\nSecurity battery\n${Object.entries(report).map(([k, v]) => `  ${k.padEnd(58)} ${v}`).join('\n')}\n`);
    await s?.stop();
  });

  async function call(path: string, init: { method?: string; token?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${s.baseUrl}${path}`, { method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'), headers, body: init.body });
    return { status: res.status, text: await res.text() };
  }
  /**
   * A body over the limit is answered 413 before it has all arrived, and the connection closed: the
   * client may see its write fail (EPIPE, ECONNRESET) instead of the answer. Either is a refusal.
   */
  async function oversized(send: () => Promise<Answer>): Promise<Answer> {
    try {
      return await send();
    } catch (err) {
      const code = ((err as Error & { cause?: { code?: string } }).cause ?? {}).code;
      if (code === 'EPIPE' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return { status: 413, text: `connection closed while the body was sent (${code})` };
      throw err;
    }
  }
  const json = (a: Answer) => {
    try {
      return JSON.parse(a.text);
    } catch {
      return undefined;
    }
  };

  async function sendAs(actor: Actor, to: string, from = SENDERS[0]): Promise<{ id: string; sid: string }> {
    const res = await call('/api/v1/whatsapp/send', { token: actor.token, body: JSON.stringify({ to, from, message: `hello from ${actor.email}`, immediate: true }) });
    expect(res.status).toBe(201);
    const body = json(res);
    return { id: body.id, sid: body.messageSid };
  }

  async function settled(): Promise<void> {
    // Every message read (the sandbox's callbacks done), so only the battery could change a row.
    for (let i = 0; i < 200; i++) {
      const [{ n }] = await s.query<{ n: number }>(`SELECT count(*)::int AS n FROM "WhatsAppMessage" WHERE direction = 'outbound' AND status <> 'read'`);
      if (n === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('messages did not settle');
  }

  it(`refuses ${WEBHOOK_FORGERIES} forged or mutated webhooks: 0 accepted, 0 rows changed`, async () => {
    const sent = [await sendAs(s.alice, '+14155550401'), await sendAs(s.bob, '+14155550402')];
    await settled();
    const genuine: GenuineWebhook[] = [
      ...sent.map((m): GenuineWebhook => ({
        route: 'status',
        url: s.statusCallbackUrl,
        params: { MessageSid: m.sid, SmsSid: m.sid, MessageStatus: 'failed', SmsStatus: 'failed', ErrorCode: '30008', AccountSid: ACCOUNT_SID, To: 'whatsapp:+14155550401', From: SENDERS[0], ApiVersion: '2010-04-01', ChannelPrefix: 'whatsapp' },
      })),
      {
        route: 'webhook',
        url: s.webhookUrl,
        params: { MessageSid: 'SM' + 'f0'.repeat(16), SmsMessageSid: 'SM' + 'f0'.repeat(16), AccountSid: ACCOUNT_SID, From: 'whatsapp:+14155550401', To: SENDERS[0], Body: 'STOP', NumMedia: '0', ProfileName: 'Mallory', WaId: '14155550401' },
      },
    ];
    // The genuine ones are accepted: the battery's refusals are not a service that refuses everything.
    for (const g of genuine.slice(0, 1)) {
      const ok = await call(`/api/v1/whatsapp/${g.route}`, {
        body: new URLSearchParams(g.params).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(s.authToken, g.url, g.params) },
      });
      expect(ok.status).toBe(200);
    }
    const before = await dataSnapshot(s);
    const forged = forgeWebhooks(genuine, s.authToken, s.baseUrl, WEBHOOK_FORGERIES);
    const answers = await pool(
      forged.map((f) => () =>
        call(f.path, { body: f.body, headers: { 'content-type': f.contentType, ...(f.signature !== undefined ? { 'x-twilio-signature': f.signature } : {}) } }),
      ),
      12,
    );
    const accepted = forged.filter((_f, i) => answers[i].status < 300).map((f, i) => `${f.kind} -> ${answers[i].status}`);
    const serverErrors = answers.filter((a) => a.status >= 500).length;
    const byKind = new Map<string, number>();
    for (const f of forged) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    report['webhooks forged'] = forged.length;
    report['webhooks accepted'] = accepted.length;
    report['webhook kinds'] = byKind.size;
    report['webhooks answered 5xx'] = serverErrors;
    expect(accepted).toEqual([]);
    expect(serverErrors).toBe(0);
    expect(await dataSnapshot(s)).toBe(before);
    report['rows changed by forged webhooks'] = 0;
  });

  it('refuses 500+ crafted JWTs on the API, /metrics, the queue dashboard and readiness details: 0 accepted', async () => {
    const tokens = craftTokens(s.jwtSecret, { sub: s.admin.id, iss: 'whatsapp-service', aud: 'whatsapp-api' }, s.bob.id)
      // A header cannot carry control characters; no client could send those.
      .filter((t) => !/[\u0000-\u001f\u007f]/.test(t.token));
    const targets: [string, (a: Answer) => boolean][] = [
      ['/api/v1/whatsapp/messages', (a) => a.status < 300],
      ['/metrics', (a) => a.status < 300],
      ['/admin/queues/api/queues', (a) => a.status < 300],
      ['/api/v1/health/ready', (a) => a.status < 300 && 'details' in (json(a) ?? {})],
    ];
    // The real admin token opens each target: a refusal below is the token's doing.
    for (const [path, opened] of targets) expect(opened(await call(path, { token: s.admin.token }))).toBe(true);
    const attempts = tokens.flatMap((t) => targets.map(([path, opened]) => ({ t, path, opened })));
    const answers = await pool(attempts.map(({ t, path }) => () => call(path, { token: t.token })), 12);
    const accepted = attempts.filter((a, i) => a.opened(answers[i])).map((a) => `${a.t.kind} on ${a.path}`);
    const serverErrors = attempts.filter((_a, i) => answers[i].status >= 500).map((a, i) => `${a.t.kind} on ${a.path}: ${answers[i].status}`);
    report['JWTs crafted'] = tokens.length;
    report['JWT attempts (tokens x targets)'] = attempts.length;
    report['JWT attempts accepted'] = accepted.length;
    report['JWT attempts answered 5xx'] = serverErrors.length;
    expect(tokens.length).toBeGreaterThanOrEqual(500);
    expect(accepted).toEqual([]);
    expect(serverErrors).toEqual([]);
  });

  it("lets no sender, by login or API key, see or act on another sender's messages (by id, by SID, events, cancel, listing, retry): 0 leaks", async () => {
    const bobs = [await sendAs(s.bob, '+14155550411'), await sendAs(s.bob, '+14155550412', SENDERS[1])];
    const alices = [await sendAs(s.alice, '+14155550413')];
    await settled();
    const leaks: string[] = [];
    let probes = 0;
    const probe = async (what: string, path: string, init: Parameters<typeof call>[1], leaked: (a: Answer) => boolean) => {
      probes++;
      const a = await call(path, init);
      if (a.status >= 500 || leaked(a)) leaks.push(`${what}: ${a.status} ${a.text.slice(0, 200)}`);
    };
    const mentionsBob = (a: Answer) => bobs.some((m) => a.text.includes(m.id) || a.text.includes(m.sid));
    // A 404 names the key it was asked for; what must not show is anything else of Bob's.
    const showsBobsMessage = (a: Answer) => /hello from bob|\+1415555041[12]|"status":"(read|delivered|sent)"/.test(a.text);
    // Alice's login, and a machine's sender API key (its own principal) by either header.
    const created = json(await call('/api/v1/api-keys', { token: s.admin.token, body: JSON.stringify({ name: 'bola-sweep', role: 'sender' }) }));
    const senderKey = created?.apiKey as string;
    expect(senderKey).toMatch(/^wsk_/);
    const intruders: { who: string; init: { token?: string; headers?: Record<string, string> } }[] = [
      { who: 'alice', init: { token: s.alice.token } },
      { who: 'sender key (Bearer)', init: { token: senderKey } },
      { who: 'sender key (X-API-Key)', init: { headers: { 'x-api-key': senderKey } } },
    ];
    for (const { who, init } of intruders) {
      for (const m of bobs) {
        for (const key of [m.id, m.sid, m.sid.toLowerCase(), ` ${m.id}`, encodeURIComponent(m.sid)]) {
          await probe(`${who}: delivery-status ${key}`, `/api/v1/whatsapp/delivery-status/${key}`, init, (a) => a.status < 300 || showsBobsMessage(a));
          await probe(`${who}: events ${key}`, `/api/v1/whatsapp/messages/${key}/events`, init, (a) => a.status < 300 || showsBobsMessage(a));
          // A cancel of Bob's message must not even answer 409 with its status.
          await probe(`${who}: cancel ${key}`, `/api/v1/whatsapp/messages/${key}`, { ...init, method: 'DELETE' }, (a) => a.status !== 404 || showsBobsMessage(a));
          await probe(`${who}: cancel by POST ${key}`, `/api/v1/whatsapp/messages/${key}/cancel`, { ...init, method: 'POST' }, (a) => a.status !== 404 || showsBobsMessage(a));
        }
      }
      for (const query of ['', '?limit=200', '?direction=outbound', '?direction=inbound', `?from=${encodeURIComponent(SENDERS[1])}`, '?to=%2B14155550411', '?status=read', '?since=2000-01-01']) {
        await probe(`${who}: list ${query}`, `/api/v1/whatsapp/messages${query}`, init, mentionsBob);
      }
      await probe(`${who}: retry by id`, '/api/v1/whatsapp/retry', { ...init, body: JSON.stringify({ ids: bobs.map((m) => m.id) }) }, (a) => a.status < 300 || showsBobsMessage(a));
      await probe(`${who}: retry all`, '/api/v1/whatsapp/retry', { ...init, body: JSON.stringify({}) }, (a) => a.status < 300);
      await probe(`${who}: delivery metrics`, '/api/v1/whatsapp/delivery-metrics', init, (a) => a.status < 300);
      await probe(`${who}: api keys`, '/api/v1/api-keys', init, (a) => a.status < 300 || a.text.includes('bola-sweep'));
      await probe(`${who}: users`, '/api/v1/users', init, (a) => a.status < 300 || a.text.includes(s.bob.email));
    }
    // The key sees what it sent itself: its refusals above are isolation, not a dead key.
    const keyed = await call('/api/v1/whatsapp/send', { headers: { 'x-api-key': senderKey }, body: JSON.stringify({ to: '+14155550414', from: SENDERS[0], message: 'hello from a key', immediate: true }) });
    expect(keyed.status).toBeLessThan(300);
    const keyedId = json(keyed).id as string;
    expect((await call(`/api/v1/whatsapp/delivery-status/${keyedId}`, { token: senderKey })).status).toBe(200);
    expect((await call(`/api/v1/whatsapp/delivery-status/${keyedId}`, { token: s.alice.token })).status).toBe(404);
    // Alice still sees her own: the sweep measures isolation, not a service that refuses everything.
    const own = await call(`/api/v1/whatsapp/delivery-status/${alices[0].id}`, { token: s.alice.token });
    expect(own.status).toBe(200);
    const list = json(await call('/api/v1/whatsapp/messages?limit=200', { token: s.alice.token }));
    expect(list.data.map((m: { id: string }) => m.id)).toContain(alices[0].id);
    report['BOLA probes'] = probes;
    report['BOLA leaks'] = leaks.length;
    expect(leaks).toEqual([]);
  });

  it('answers an input fuzz of every route and query parameter with no 5xx, the event loop never stalled over 200 ms', async () => {
    const r = random(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const strings = [
      '', ' ', 'a'.repeat(1601), 'a'.repeat(20_000), '\u0000', 'a\u0000b', '%00', '\ud800', '\udfff\ud800', '💬'.repeat(500), '\u202eevil', '\u200b', 'ﷺ'.repeat(100),
      "' OR '1'='1", "'; DROP TABLE \"WhatsAppMessage\"; --", '" OR ""="', '1; SELECT pg_sleep(5)', '$where', '{"$gt": ""}', '{{7*7}}', '${7*7}', '<script>alert(1)</script>',
      '../../../../etc/passwd', '..%2f..%2f', 'http://169.254.169.254/latest/meta-data/', 'file:///etc/passwd', 'javascript:alert(1)', '\r\nX-Injected: 1', '__proto__', 'constructor',
      '-1', '0', '1e309', 'NaN', 'Infinity', '9'.repeat(400), '2026-W48-5', '2026-13-45T25:61:61Z', '+275760-09-13T00:00:00Z', 'whatsapp:+', 'whatsapp:+1' + '4'.repeat(30), 'SM' + 'z'.repeat(32),
      'null', 'true', '[]', '{}',
    ];
    const values: unknown[] = [...strings, null, true, false, 0, -1, 1e308, [], {}, [1, 2], { a: 1 }, { __proto__: { admin: true } }, ['x'.repeat(100)], Array(2000).fill('x')];
    // encodeURIComponent throws on a lone surrogate; send its UTF-8 bytes as they would arrive.
    const enc = (v: string) => {
      try {
        return encodeURIComponent(v);
      } catch {
        return '%ED%A0%80';
      }
    };
    const bodyFields: Record<string, string[]> = {
      '/api/v1/whatsapp/send': ['to', 'message', 'mediaUrl', 'contentSid', 'contentVariables', 'from', 'immediate', 'sendAt'],
      '/api/v1/whatsapp/send/bulk': ['messages', 'sendAt'],
      '/api/v1/whatsapp/retry': ['ids', 'errorCodes', 'since', 'limit'],
      '/api/v1/auth/login': ['email', 'password'],
      '/api/v1/users': ['email', 'role', 'password'],
      '/api/v1/api-keys': ['name', 'role', 'expiresAt'],
      '/api/v1/webhooks': ['url', 'events', 'description'],
    };
    const queryParams: Record<string, string[]> = {
      '/api/v1/whatsapp/messages': ['direction', 'status', 'to', 'from', 'since', 'until', 'cursor', 'limit'],
      '/api/v1/whatsapp/delivery-metrics': ['since', 'until', 'from'],
      '/api/v1/whatsapp/templates': ['language', 'q', 'refresh'],
      '/api/v1/webhooks/00000000-0000-4000-8000-000000000000/deliveries': ['status', 'cursor', 'limit'],
    };
    const pathRoutes = ['/api/v1/whatsapp/delivery-status/', '/api/v1/whatsapp/messages/{}/events', '/api/v1/whatsapp/contacts/', '/api/v1/users/', '/api/v1/webhooks/'];
    const requests: { label: string; run: () => Promise<Answer> }[] = [];
    const send = (path: string, body: unknown, raw?: string) => ({
      label: `POST ${path} ${(raw ?? JSON.stringify(body)).slice(0, 80)}`,
      run: () => call(path, { token: s.admin.token, body: raw ?? JSON.stringify(body) }),
    });
    const get = (path: string) => ({ label: `GET ${path.slice(0, 120)}`, run: () => call(path, { token: s.admin.token }) });
    for (const [path, fields] of Object.entries(bodyFields)) {
      for (const field of fields) for (const v of values) requests.push(send(path, { to: '+14155550420', message: 'fuzz', [field]: v }));
      // Written out: JSON.stringify itself cannot nest 10,000 deep.
      for (const n of [9, 50, 1000, 10_000]) requests.push(send(path, undefined, `{"${pick(fields)}":${'['.repeat(n)}${']'.repeat(n)}}`));
      requests.push(send(path, undefined, '{"to":'), send(path, undefined, 'null'), send(path, undefined, '[]'), send(path, undefined, '"x"'), send(path, undefined, '1'));
      requests.push(send(path, { contentVariables: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [String(i), 'x'])) }));
      requests.push({ label: `POST ${path} 3 MB text/plain`, run: () => oversized(() => call(path, { token: s.admin.token, body: 'x'.repeat(3 * 1024 * 1024), headers: { 'content-type': 'text/plain' } })) });
      requests.push({ label: `POST ${path} form`, run: () => call(path, { token: s.admin.token, body: 'a=1&a=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } }) });
    }
    requests.push(send('/api/v1/whatsapp/send/bulk', { messages: Array.from({ length: 1001 }, () => ({ to: '+14155550421', message: 'x' })) }));
    requests.push(send('/api/v1/whatsapp/send/bulk', { messages: Array.from({ length: 1000 }, () => ({ to: pick(strings), message: pick(strings), contentVariables: { [pick(strings)]: pick(strings) } })) }));
    for (const [path, params] of Object.entries(queryParams)) {
      for (const param of params) for (const v of strings) requests.push(get(`${path}?${param}=${enc(v)}`));
      requests.push(get(`${path}?${params.map((p) => `${p}=1&${p}=2`).join('&')}`));
      requests.push(get(`${path}?${Array.from({ length: 500 }, (_, i) => `k${i}=v`).join('&')}`));
    }
    for (const route of pathRoutes) for (const v of strings) {
      const encoded = enc(v.slice(0, 2000));
      requests.push(get(route.includes('{}') ? route.replace('{}', encoded) : route + encoded));
    }
    for (const v of strings) {
      const encoded = enc(v.slice(0, 2000));
      requests.push({ label: `DELETE /api/v1/whatsapp/messages/${encoded.slice(0, 80)}`, run: () => call(`/api/v1/whatsapp/messages/${encoded}`, { token: s.admin.token, method: 'DELETE' }) });
      requests.push({ label: `POST /api/v1/whatsapp/messages/${encoded.slice(0, 80)}/cancel`, run: () => call(`/api/v1/whatsapp/messages/${encoded}/cancel`, { token: s.admin.token, method: 'POST' }) });
    }

    // The service measures its own event-loop delay; liveness reports the worst of the last 10-20 s.
    const lag = async () => (json(await call('/api/v1/health'))?.details?.eventLoop?.maxMs as number) ?? Number.POSITIVE_INFINITY;
    const reference = idleReference();
    await reference.worstMs();
    for (let i = 0; i < 30 && (await lag()) > MAX_EVENT_LOOP_LAG_MS + (await reference.worstMs()); i++) await new Promise((res) => setTimeout(res, 1000)); // start-up and earlier batteries age out
    let worstLag = 0;
    let fuzzing = true;
    const watcher = (async () => {
      while (fuzzing) {
        worstLag = Math.max(worstLag, await lag());
        await new Promise((res) => setTimeout(res, 1000));
      }
    })();
    const timed = await pool(
      requests.map((r) => async () => {
        const started = performance.now();
        const answer = await r.run();
        return { answer, ms: performance.now() - started };
      }),
      Number(process.env.SECURITY_FUZZ_CONCURRENCY ?? 4),
    );
    const answers = timed.map((t) => t.answer);
    const slowest = timed.map((t, i) => ({ ms: Math.round(t.ms), label: requests[i].label })).sort((a, b) => b.ms - a.ms).slice(0, Number(process.env.SECURITY_SLOWEST ?? 5));
    fuzzing = false;
    await watcher;
    worstLag = Math.max(worstLag, await lag());
    const idleLag = await reference.worstMs();
    reference.stop();
    const serverErrors = answers.map((a, i) => [i, a] as const).filter(([, a]) => a.status >= 500).map(([i, a]) => `${requests[i].label}: ${a.status} ${a.text.slice(0, 200)}`);
    report['fuzz requests'] = requests.length;
    report['fuzz requests answered 5xx'] = serverErrors.length;
    report['fuzz: worst event-loop delay (ms)'] = worstLag;
    report['fuzz: worst delay of an idle process meanwhile (ms)'] = Math.round(idleLag);
    slowest.forEach((r, i) => (report[`fuzz: slowest #${i + 1} (ms)`] = `${r.ms}  ${r.label.slice(0, 70)}`));
    expect(serverErrors).toEqual([]);
    // What the machine's load alone caused (the idle process's delay) is not the service's stall.
    expect(worstLag - idleLag).toBeLessThanOrEqual(MAX_EVENT_LOOP_LAG_MS);
    expect((await call('/api/v1/health')).status).toBe(200);
  });

  it('never writes a secret to its log', async () => {
    // A login with a wrong password, a token in a query string, and a signed webhook: the usual ways secrets leak.
    await call('/api/v1/auth/login', { body: JSON.stringify({ email: s.alice.email, password: `${s.alice.password}x` }) });
    await call(`/api/v1/whatsapp/messages?access_token=${s.alice.token}&token=${s.authToken}`, { token: s.bob.token });
    // An API key: created (the answer carries it), used in both headers, revoked, then refused.
    const created = json(await call('/api/v1/api-keys', { token: s.admin.token, body: JSON.stringify({ name: 'log-check', role: 'sender' }) }));
    const apiKey = created?.apiKey as string;
    expect(apiKey).toMatch(/^wsk_/);
    await call('/api/v1/whatsapp/messages', { headers: { 'x-api-key': apiKey } });
    await call(`/api/v1/whatsapp/messages?api_key=${apiKey}`, { token: apiKey });
    await call(`/api/v1/api-keys/${created.id}`, { token: s.admin.token, method: 'DELETE' });
    await call('/api/v1/whatsapp/messages', { headers: { 'x-api-key': apiKey } });
    const log = serviceLog(s);
    const found = [...s.secrets(), apiKey].filter((secret) => log.includes(secret));
    report['log size (bytes)'] = log.length;
    report['secrets found in the log'] = found.length;
    expect(log.length).toBeGreaterThan(0);
    expect(found).toEqual([]);
  });
});
