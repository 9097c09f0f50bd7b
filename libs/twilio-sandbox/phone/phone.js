// @ts-check
/**
 * @typedef {import('./phone-config').PhonePageConfig} PhonePageConfig
 * @typedef {import('../sandbox.types').SandboxMessage} SandboxMessage
 * @typedef {import('../sandbox.types').NumberFate} NumberFate
 * @typedef {import('../sandbox.types').InboundMessageResult} InboundMessageResult
 * @typedef {{ fates: Record<string, NumberFate> }} FatesAnswer
 * @typedef {{ status: string, errorCode?: number }} StatusChange
 * @typedef {{ number: string, messages: SandboxMessage[], last: number, business: string | null }} Conversation
 * @typedef {{ li: HTMLLIElement, button: HTMLButtonElement, text: HTMLSpanElement }} NavItem
 * @typedef {{ li: HTMLLIElement, status: HTMLSpanElement, error: HTMLSpanElement, actions: HTMLDivElement,
 *   bodyId: string, inbound: boolean, rendered: string | null }} MessageItem
 * @typedef {{ number: string, section: HTMLElement, list: HTMLOListElement, empty: HTMLParagraphElement,
 *   hold: HTMLSelectElement, input: HTMLInputElement, send: HTMLButtonElement, note: HTMLParagraphElement,
 *   business: string, items: Map<string, MessageItem>, shown: boolean }} Panel
 * @typedef {Record<string, string | boolean | null | undefined>} Attributes
 */

// Text only ever reaches the DOM as text nodes: message bodies are user content.
(() => {
  'use strict';

  /**
   * @param {string} id
   * @returns {HTMLElement}
   */
  function byId(id) {
    const node = document.getElementById(id);
    if (!node) throw new Error('the page has no #' + id);
    return node;
  }

  /** @type {PhonePageConfig} */
  const config = JSON.parse(byId('phone-config').textContent || '');
  const CONTROL = config.controlPrefix;
  const FINAL = new Set(['read', 'failed', 'undelivered', 'canceled', 'received']);
  const DELIVERED = new Set(['delivered', 'partially_delivered']);
  /** @type {Record<string, string>} */
  const TICKS = { sent: '\u2713', delivered: '\u2713\u2713', partially_delivered: '\u2713\u2713', read: '\u2713\u2713',
    failed: '\u2717', undelivered: '\u2717', canceled: '\u2298', received: '' };
  const PENDING_TICK = '\u25F7';
  const E164 = /^\+[1-9][0-9]{6,14}$/;

  /** @type {{ etag: string | null, messages: SandboxMessage[], fates: Record<string, NumberFate>, started: Set<string>, selected: string | null, loaded: boolean }} */
  const state = { etag: null, messages: [], fates: {}, started: new Set(), selected: null, loaded: false };
  /** @type {Map<string, Panel>} */
  const panels = new Map();
  /** @type {Map<string, NavItem>} */
  const navItems = new Map();
  let idCounter = 0;

  const els = {
    connection: byId('connection'), list: byId('conversation-list'), noChats: byId('no-chats'),
    panels: byId('chats-panels'), noChat: byId('no-chat'), announcer: byId('announcer'),
    newChat: byId('new-chat'), newNumber: /** @type {HTMLInputElement} */ (byId('new-number')), newChatNote: byId('new-chat-note'),
  };

  /**
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {Attributes} [attrs]
   * @param {(string | Node)[]} [children]
   * @returns {HTMLElementTagNameMap[K]}
   */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children || []) node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    return node;
  }

  /** @param {string} prefix */
  const nextId = (prefix) => prefix + '-' + (++idCounter);
  /** @param {string | null | undefined} address */
  const numberOf = (address) => String(address || '').replace(/^whatsapp:/i, '');
  /** @param {string} status */
  const statusWord = (status) => String(status).split('_').join(' ');
  /** @param {string} status */
  const tickFor = (status) => (status in TICKS ? TICKS[status] : PENDING_TICK);
  /** @param {SandboxMessage} m */
  const createdAt = (m) => (m.statusHistory.length > 0 ? m.statusHistory[0].at : m.resource.date_created);
  /**
   * @param {string} text
   * @param {number} max
   */
  const clip = (text, max) => (text.length > max ? text.slice(0, max - 1) + '\u2026' : text);
  /** @param {unknown} err */
  const reasonOf = (err) => (err instanceof Error ? err.message : String(err));

  /** @param {string} value */
  function formatTime(value) {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  /** @param {SandboxMessage | undefined} m */
  function preview(m) {
    if (!m) return 'No messages yet';
    const text = m.resource.body || (m.mediaUrls.length > 0 ? 'Attachment' : '(empty)');
    return (m.resource.direction === 'inbound' ? '' : 'You: ') + clip(text.replace(/\s+/g, ' '), 60);
  }

  /** @param {string} text */
  function announce(text) {
    els.announcer.textContent = '';
    // A separate task, so screen readers see a change even when the same text comes twice.
    setTimeout(() => { els.announcer.textContent = text; }, 50);
  }

  /**
   * A control API call; the answer's JSON, or an Error with the API's reason.
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @returns {Promise<unknown>}
   */
  async function request(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = {};
    /** @type {RequestInit} */
    const init = { method, cache: 'no-store', headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(CONTROL + path, init);
    const text = await res.text();
    /** @type {{ error?: unknown, message?: unknown } | null} */
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!res.ok) {
      const reason = data && (data.error || data.message);
      throw new Error(reason ? String(reason) : 'HTTP ' + res.status);
    }
    return data;
  }

  /** @returns {Conversation[]} */
  function conversations() {
    /** @type {Map<string, Conversation>} */
    const byNumber = new Map();
    state.messages.forEach((m, index) => {
      const r = m.resource;
      const inbound = r.direction === 'inbound';
      const number = numberOf(inbound ? r.from : r.to);
      let c = byNumber.get(number);
      if (!c) {
        c = { number, messages: [], last: -1, business: null };
        byNumber.set(number, c);
      }
      c.messages.push(m);
      c.last = index;
      const business = inbound ? r.to : r.from;
      if (business && m.channel === 'whatsapp') c.business = business;
    });
    for (const number of state.started) {
      if (!byNumber.has(number)) byNumber.set(number, { number, messages: [], last: Infinity, business: null });
    }
    return [...byNumber.values()].sort((a, b) => b.last - a.last);
  }

  function render() {
    const list = conversations();
    const present = new Set(list.map((c) => c.number));
    for (const [number, nav] of navItems) {
      if (!present.has(number)) { nav.li.remove(); navItems.delete(number); }
    }
    for (const [number, panel] of panels) {
      if (!present.has(number)) { panel.section.remove(); panels.delete(number); }
    }
    list.forEach((c, index) => {
      renderNav(c, index);
      renderPanel(c);
    });
    if ((state.selected === null || !present.has(state.selected)) && list.length > 0) {
      select(list[0].number);
    }
    els.noChats.hidden = list.length > 0;
    els.noChat.hidden = state.selected !== null && present.has(state.selected);
    updateSelection();
  }

  /**
   * @param {Conversation} c
   * @param {number} index
   */
  function renderNav(c, index) {
    let nav = navItems.get(c.number);
    if (!nav) {
      const number = el('span', { class: 'chat-number' }, [c.number]);
      const text = el('span', { class: 'chat-preview' });
      const button = el('button', { type: 'button', class: 'chat-button', 'data-number': c.number }, [number, text]);
      button.addEventListener('click', () => { select(c.number); focusReply(c.number); });
      nav = { li: el('li', {}, [button]), button, text };
      navItems.set(c.number, nav);
    }
    const last = c.messages[c.messages.length - 1];
    const summary = preview(last);
    if (nav.text.textContent !== summary) nav.text.textContent = summary;
    if (els.list.children[index] !== nav.li) els.list.insertBefore(nav.li, els.list.children[index] || null);
  }

  /**
   * @param {string} number
   * @returns {Panel}
   */
  function createPanel(number) {
    const titleId = nextId('chat-title');
    const holdId = nextId('hold');
    const replyId = nextId('reply');
    const hold = el('select', { id: holdId });
    for (const option of config.holds) hold.append(el('option', { value: option.value }, [option.label]));
    const list = el('ol', { class: 'messages', 'aria-labelledby': titleId });
    const empty = el('p', { class: 'chat-empty' }, ['No messages yet. Write below to message the service as this user.']);
    const input = el('input', { id: replyId, name: 'body', type: 'text', autocomplete: 'off', required: true,
      placeholder: 'Reply as ' + number, maxlength: '1600' });
    const send = el('button', { type: 'submit' }, ['Send']);
    const note = el('p', { class: 'note', role: 'status' });
    const form = el('form', { class: 'reply' }, [
      el('label', { for: replyId, class: 'visually-hidden' }, ['Reply as ' + number]), input, send, note,
    ]);
    const section = el('section', { class: 'chat', 'aria-labelledby': titleId, 'data-number': number, hidden: true }, [
      el('header', { class: 'chat-head' }, [
        el('h2', { id: titleId }, [number]),
        el('label', { for: holdId }, ['New messages stop at', hold]),
      ]),
      empty,
      list,
      form,
    ]);
    /** @type {Panel} */
    const panel = { number, section, list, empty, hold, input, send, note, business: config.defaultSender, items: new Map(), shown: false };
    hold.addEventListener('change', () => setHold(panel, hold.value));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      reply(panel);
    });
    els.panels.append(section);
    panels.set(number, panel);
    return panel;
  }

  /** @param {Conversation} c */
  function renderPanel(c) {
    const panel = panels.get(c.number) || createPanel(c.number);
    panel.business = c.business || config.defaultSender;
    syncHold(panel);
    const nearBottom = panel.list.scrollHeight - panel.list.scrollTop - panel.list.clientHeight < 120;
    const seen = new Set();
    let added = false;
    for (const m of c.messages) {
      seen.add(m.sid);
      let item = panel.items.get(m.sid);
      if (!item) {
        item = createItem(m);
        panel.items.set(m.sid, item);
        panel.list.append(item.li);
        added = true;
        if (state.loaded) announceNew(c.number, m);
      }
      updateItem(item, m);
    }
    for (const [sid, item] of panel.items) {
      if (!seen.has(sid)) { item.li.remove(); panel.items.delete(sid); }
    }
    panel.empty.hidden = c.messages.length > 0;
    panel.list.hidden = c.messages.length === 0;
    if (added && nearBottom) panel.list.scrollTop = panel.list.scrollHeight;
  }

  /**
   * @param {string} number
   * @param {SandboxMessage} m
   */
  function announceNew(number, m) {
    const text = clip(m.resource.body || 'an attachment', 140);
    announce(m.resource.direction === 'inbound' ? number + ' wrote: ' + text : 'Sent to ' + number + ': ' + text);
  }

  /** @param {Panel} panel */
  function syncHold(panel) {
    // While a change is on its way, a poll would show the old fate for a moment.
    if (panel.hold.disabled) return;
    const fate = state.fates[panel.number];
    let custom = panel.hold.querySelector('option[data-custom]');
    let value = 'read';
    if (fate && 'errorCode' in fate && typeof fate.errorCode === 'number') {
      const label = 'fails: ' + fate.status + ' ' + fate.errorCode + ' (control API)';
      if (!custom) {
        custom = el('option', { value: 'custom', 'data-custom': true, disabled: true });
        panel.hold.append(custom);
      }
      if (custom.textContent !== label) custom.textContent = label;
      value = 'custom';
    } else {
      if (custom) custom.remove();
      if (fate) value = fate.status;
    }
    if (panel.hold.value !== value) panel.hold.value = value;
  }

  /**
   * @param {SandboxMessage} m
   * @returns {MessageItem}
   */
  function createItem(m) {
    const r = m.resource;
    const inbound = r.direction === 'inbound';
    const bodyId = 'body-' + m.sid;
    /** @type {HTMLElement[]} */
    const children = [];
    if (r.body) {
      children.push(el('p', { class: 'text', id: bodyId }, [r.body]));
    } else {
      children.push(el('p', { class: 'text placeholder', id: bodyId }, [m.mediaUrls.length > 0 ? 'Attachment' : 'Empty message']));
    }
    if (m.mediaUrls.length > 0) {
      children.push(el('ul', { class: 'media', 'aria-label': 'Attachments' }, m.mediaUrls.map((url) => el('li', {}, [mediaLink(url)]))));
    }
    if (m.contentSid) children.push(el('p', { class: 'template' }, ['Template ' + m.contentSid]));
    const status = el('span', { class: 'status' });
    const error = el('span', { class: 'error' });
    const when = createdAt(m);
    const time = el('time', { datetime: new Date(when).toISOString() }, [formatTime(when)]);
    children.push(el('p', { class: 'meta' }, inbound ? [time] : [time, status, error]));
    const actions = el('div', { class: 'actions', role: 'group', 'aria-label': 'Simulate the recipient', hidden: true });
    const li = el('li', { class: 'msg ' + (inbound ? 'in' : 'out'), 'data-sid': m.sid, 'data-direction': inbound ? 'inbound' : 'outbound' }, [
      el('div', { class: 'bubble' }, children),
      actions,
    ]);
    if (inbound) li.prepend(el('span', { class: 'visually-hidden' }, ['Reply from ' + numberOf(r.from) + ':']));
    return { li, status, error, actions, bodyId, inbound, rendered: null };
  }

  /** @param {string} url */
  function mediaLink(url) {
    if (!/^https?:\/\//i.test(url)) return el('span', {}, [url]);
    return el('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, [url]);
  }

  /**
   * @param {MessageItem} item
   * @param {SandboxMessage} m
   */
  function updateItem(item, m) {
    const r = m.resource;
    const key = r.status + '|' + (r.error_code === null ? '' : r.error_code);
    if (item.rendered === key) return;
    item.rendered = key;
    item.li.setAttribute('data-status', r.status);
    if (item.inbound) return;
    item.status.className = 'status ' + r.status;
    item.status.setAttribute('data-status', r.status);
    item.status.title = m.statusHistory.map((h) => h.status + ' ' + formatTime(h.at)).join(', ');
    item.status.replaceChildren(
      el('span', { 'aria-hidden': 'true' }, [tickFor(r.status)]),
      el('span', { class: 'visually-hidden' }, [statusWord(r.status)]),
    );
    item.error.textContent = r.error_code === null ? '' : 'Error ' + r.error_code + (r.error_message ? ': ' + r.error_message : '');
    item.error.hidden = r.error_code === null;
    renderActions(item, m);
  }

  /**
   * @param {MessageItem} item
   * @param {SandboxMessage} m
   */
  function renderActions(item, m) {
    const status = m.resource.status;
    /** @type {HTMLElement[]} */
    const nodes = [];
    if (!FINAL.has(status)) {
      if (m.channel === 'whatsapp') {
        nodes.push(actionButton('Mark read', item, () => forceStatus(m.sid, { status: 'read' })));
      }
      if (!DELIVERED.has(status)) {
        const selectId = 'fail-code-' + m.sid;
        const select = el('select', { id: selectId, 'aria-describedby': item.bodyId });
        config.failures.forEach((failure, index) => {
          select.append(el('option', { value: String(index) }, [failure.code + ' ' + failure.label]));
        });
        nodes.push(el('label', { for: selectId, class: 'visually-hidden' }, ['Error to fail with']), select);
        nodes.push(actionButton('Fail', item, () => {
          const failure = config.failures[Number(select.value)];
          return forceStatus(m.sid, { status: failure.status, errorCode: failure.code });
        }, 'danger'));
      }
    }
    item.actions.replaceChildren(...nodes);
    item.actions.hidden = nodes.length === 0;
  }

  /**
   * @param {string} label
   * @param {MessageItem} item
   * @param {() => Promise<unknown>} run
   * @param {string} [extraClass]
   */
  function actionButton(label, item, run, extraClass) {
    const button = el('button', { type: 'button', class: extraClass || null, 'aria-describedby': item.bodyId }, [label]);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await run();
      } catch (err) {
        const panel = panelOf(item.li);
        if (panel) panel.note.textContent = label + ' failed: ' + reasonOf(err);
        button.disabled = false;
      }
      refreshSoon();
    });
    return button;
  }

  /** @param {Element} node */
  function panelOf(node) {
    const section = node.closest('section.chat');
    return section ? panels.get(section.getAttribute('data-number') || '') : undefined;
  }

  /**
   * @param {string} sid
   * @param {StatusChange} body
   */
  function forceStatus(sid, body) {
    return request('POST', '/messages/' + encodeURIComponent(sid) + '/status', body);
  }

  /**
   * @param {Panel} panel
   * @param {string} value
   */
  async function setHold(panel, value) {
    panel.hold.disabled = true;
    try {
      const path = '/numbers/' + encodeURIComponent(panel.number) + '/fate';
      const answer = /** @type {FatesAnswer} */ (value === 'read' ? await request('DELETE', path) : await request('PUT', path, { status: value }));
      state.fates = answer.fates;
      panel.note.textContent = value === 'read'
        ? 'New messages to ' + panel.number + ' go all the way to read.'
        : 'New messages to ' + panel.number + ' stop at ' + value + '.';
    } catch (err) {
      panel.note.textContent = 'Could not change it: ' + reasonOf(err);
    } finally {
      panel.hold.disabled = false;
      syncHold(panel);
    }
  }

  /** @param {Panel} panel */
  async function reply(panel) {
    const body = panel.input.value;
    if (!body.trim()) return;
    panel.send.disabled = true;
    try {
      const answer = /** @type {InboundMessageResult} */ (await request('POST', '/inbound', { from: panel.number, to: panel.business, body }));
      panel.input.value = '';
      if (answer.status === 0) {
        panel.note.textContent = 'Stored in the sandbox, but the service did not answer (no inbound webhook URL, or it is down).';
      } else if (answer.status < 300) {
        panel.note.textContent = 'Delivered to the service (HTTP ' + answer.status + ').';
      } else {
        panel.note.textContent = 'The service refused it: HTTP ' + answer.status + '.';
      }
    } catch (err) {
      panel.note.textContent = 'Could not send: ' + reasonOf(err);
    } finally {
      panel.send.disabled = false;
      panel.input.focus();
      refreshSoon();
    }
  }

  /** @param {string} number */
  const hashFor = (number) => '#' + encodeURIComponent(number);

  function numberFromHash() {
    try {
      const number = decodeURIComponent(location.hash.slice(1)).trim();
      return E164.test(number) ? number : null;
    } catch {
      return null;
    }
  }

  /** @param {string} number */
  function select(number) {
    state.selected = number;
    if (location.hash !== hashFor(number)) history.replaceState(null, '', hashFor(number));
    updateSelection();
  }

  function updateSelection() {
    for (const [number, nav] of navItems) nav.button.setAttribute('aria-current', number === state.selected ? 'true' : 'false');
    for (const [number, panel] of panels) {
      const visible = number === state.selected;
      panel.section.hidden = !visible;
      if (visible && !panel.shown) panel.list.scrollTop = panel.list.scrollHeight;
      panel.shown = visible;
    }
  }

  /** @param {string} number */
  function focusReply(number) {
    const panel = panels.get(number);
    if (panel) panel.input.focus();
  }

  /** @param {string} number */
  function openChat(number) {
    state.started.add(number);
    select(number);
    render();
  }

  els.newChat.addEventListener('submit', (event) => {
    event.preventDefault();
    const number = els.newNumber.value.replace(/[\s().-]/g, '');
    if (!E164.test(number)) {
      els.newChatNote.textContent = 'Enter a number in E.164 form, like +14155550123.';
      return;
    }
    els.newChatNote.textContent = '';
    els.newNumber.value = '';
    openChat(number);
    focusReply(number);
  });

  window.addEventListener('hashchange', () => {
    const number = numberFromHash();
    if (number && number !== state.selected) openChat(number);
  });

  /** @type {boolean | null} */
  let online = null;
  /** @param {boolean} value */
  function setOnline(value) {
    if (online === value) return;
    online = value;
    els.connection.setAttribute('data-online', String(value));
    els.connection.textContent = value ? 'Live' : 'Sandbox unreachable, retrying\u2026';
  }

  async function refresh() {
    /** @type {Record<string, string>} */
    const headers = state.etag ? { 'If-None-Match': state.etag } : {};
    const [messagesRes, numbers] = await Promise.all([
      fetch(CONTROL + '/messages', { cache: 'no-store', headers }),
      /** @type {Promise<FatesAnswer>} */ (request('GET', '/numbers')),
    ]);
    let changed = JSON.stringify(numbers.fates) !== JSON.stringify(state.fates);
    state.fates = numbers.fates;
    if (messagesRes.status !== 304) {
      if (!messagesRes.ok) throw new Error('HTTP ' + messagesRes.status);
      state.messages = /** @type {SandboxMessage[]} */ (await messagesRes.json());
      state.etag = messagesRes.headers.get('ETag');
      changed = true;
    }
    if (changed || !state.loaded) render();
    state.loaded = true;
  }

  /** @type {number | undefined} */
  let timer;
  let running = false;
  let again = false;
  /** @param {number} delayMs */
  function schedule(delayMs) {
    clearTimeout(timer);
    timer = setTimeout(poll, delayMs);
  }
  function refreshSoon() {
    schedule(0);
  }
  async function poll() {
    if (running) { again = true; return; }
    running = true;
    try {
      await refresh();
      setOnline(true);
    } catch {
      setOnline(false);
    }
    running = false;
    if (again) { again = false; schedule(0); } else { schedule(config.pollIntervalMs); }
  }

  const initial = numberFromHash();
  if (initial) openChat(initial);
  poll();
})();
