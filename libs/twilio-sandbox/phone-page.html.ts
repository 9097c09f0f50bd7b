import { createHash } from 'node:crypto';
import { CONTROL_PREFIX } from './control-api.routes';
import { DEFAULT_WHATSAPP_SENDER } from './delivery-simulation';
import { FailureStatus, SuccessFinalStatus, TwilioMessageStatus } from './sandbox.types';
import { SimulatedErrorCode } from './simulated-errors';

/** A failure the page offers on a message, with the status Twilio reports that code under. */
export interface PhoneFailureOption {
  status: FailureStatus;
  code: SimulatedErrorCode;
  label: string;
}

/** Where new messages to a number stop, set as the number's fate; `read` is the normal lifecycle (no fate). */
export interface PhoneHoldOption {
  value: SuccessFinalStatus;
  label: string;
}

export interface PhonePageConfig {
  controlPrefix: string;
  pollIntervalMs: number;
  /** Replies go to the business number of the conversation's last WhatsApp message, or to this. */
  defaultSender: string;
  failures: PhoneFailureOption[];
  holds: PhoneHoldOption[];
}

// Twice a second feels live, and a 304 from the ETag'd message list makes an idle poll nearly free.
export const PHONE_PAGE_POLL_INTERVAL_MS = 500;

export const PHONE_PAGE_FAILURES: readonly PhoneFailureOption[] = [
  { status: TwilioMessageStatus.Undelivered, code: SimulatedErrorCode.UnreachableHandset, label: 'unreachable (undelivered)' },
  { status: TwilioMessageStatus.Undelivered, code: SimulatedErrorCode.UnknownDestination, label: 'unknown number (undelivered)' },
  { status: TwilioMessageStatus.Failed, code: SimulatedErrorCode.OutsideSessionWindow, label: 'outside 24h window (failed)' },
  { status: TwilioMessageStatus.Failed, code: SimulatedErrorCode.InvalidRecipient, label: 'invalid recipient (failed)' },
  { status: TwilioMessageStatus.Failed, code: SimulatedErrorCode.UnknownError, label: 'unknown error (failed)' },
];

export const PHONE_PAGE_HOLDS: readonly PhoneHoldOption[] = [
  { value: TwilioMessageStatus.Read, label: 'read (normal)' },
  { value: TwilioMessageStatus.Delivered, label: 'delivered (not read)' },
  { value: TwilioMessageStatus.Sent, label: 'sent (phone offline)' },
];

const PHONE_PAGE_CONFIG: PhonePageConfig = {
  controlPrefix: CONTROL_PREFIX,
  pollIntervalMs: PHONE_PAGE_POLL_INTERVAL_MS,
  defaultSender: DEFAULT_WHATSAPP_SENDER,
  failures: [...PHONE_PAGE_FAILURES],
  holds: [...PHONE_PAGE_HOLDS],
};

const STYLE = String.raw`
:root { color-scheme: light; --brand: #008069; --chat-bg: #efeae2; --out: #d9fdd3; --muted: #54656f; --read: #0a7cc1; --bad: #b3001b; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; background: #f0f2f5; color: #111b21;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", sans-serif; }
button, input, select { font: inherit; color: inherit; }
button { cursor: pointer; }
:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0;
  overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
.app-head { display: flex; align-items: center; justify-content: space-between; gap: .5rem;
  padding: .6rem .85rem; background: var(--brand); color: #fff; }
.app-head h1 { margin: 0; font-size: 1.05rem; }
#connection { margin: 0; font-size: .8rem; }
#connection[data-online="false"] { font-weight: 700; }
main { flex: 1; min-height: 0; display: flex; flex-direction: column; }
.chats { background: #fff; border-bottom: 1px solid #d1d7db; }
.chats h2 { margin: .5rem .75rem 0; font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
#conversation-list { list-style: none; margin: 0; padding: .4rem .5rem; display: flex; gap: .4rem; overflow-x: auto; }
.chat-button { display: flex; flex-direction: column; align-items: flex-start; gap: .1rem; min-width: 11rem; max-width: 16rem;
  padding: .45rem .65rem; border: 1px solid #d1d7db; border-radius: .6rem; background: #fff; text-align: left; }
.chat-button[aria-current="true"] { background: #e7f5f1; border-color: var(--brand); }
.chat-number { font-weight: 600; }
.chat-preview { max-width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-size: .82rem; color: var(--muted); }
#no-chats { margin: .3rem .75rem .5rem; font-size: .85rem; color: var(--muted); }
#new-chat { display: flex; flex-wrap: wrap; gap: .35rem; align-items: center; padding: .2rem .75rem .6rem; font-size: .85rem; }
#new-chat input { width: 11rem; padding: .35rem .5rem; border: 1px solid #c3cbd0; border-radius: .4rem; }
#new-chat button { padding: .35rem .7rem; border: 1px solid var(--brand); border-radius: .4rem; background: #fff; color: var(--brand); font-weight: 600; }
#new-chat-note { flex-basis: 100%; margin: 0; color: var(--bad); }
#chats-panels { flex: 1; min-height: 0; display: flex; flex-direction: column; }
#no-chat { margin: auto; padding: 2rem 1rem; max-width: 28rem; text-align: center; color: var(--muted); }
#no-chat code { font-size: .85em; }
.chat { flex: 1; min-height: 0; display: flex; flex-direction: column; background: var(--chat-bg); }
.chat-head { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .4rem;
  padding: .45rem .75rem; background: #f0f2f5; border-bottom: 1px solid #d1d7db; }
.chat-head h2 { margin: 0; font-size: 1rem; }
.chat-head label { font-size: .8rem; color: var(--muted); }
.chat-head select { margin-left: .25rem; font-size: .8rem; padding: .2rem; }
.messages { flex: 1; min-height: 0; overflow-y: auto; list-style: none; margin: 0; padding: .75rem;
  display: flex; flex-direction: column; gap: .45rem; }
.chat-empty { margin: auto; color: var(--muted); font-size: .9rem; }
.msg { max-width: 85%; display: flex; flex-direction: column; }
.msg.out { align-self: flex-end; align-items: flex-end; }
.msg.in { align-self: flex-start; align-items: flex-start; }
.bubble { padding: .35rem .55rem .3rem; border-radius: .55rem; background: #fff; box-shadow: 0 1px .5px rgba(11, 20, 26, .13); }
.msg.out .bubble { background: var(--out); }
.text { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.text.placeholder { font-style: italic; color: var(--muted); }
.media { margin: .2rem 0 0; padding-left: 1.1rem; font-size: .82rem; overflow-wrap: anywhere; }
.template { margin: .15rem 0 0; font-size: .75rem; color: var(--muted); }
.meta { display: flex; flex-wrap: wrap; justify-content: flex-end; align-items: baseline; gap: .35rem;
  margin: .15rem 0 0; font-size: .72rem; color: var(--muted); }
.status { font-size: .85rem; letter-spacing: -.12em; padding-right: .12em; }
.status.read { color: var(--read); font-weight: 700; }
.status.failed, .status.undelivered, .error { color: var(--bad); }
.status.failed, .status.undelivered { letter-spacing: 0; font-weight: 700; }
.error { flex-basis: 100%; text-align: right; }
.actions { display: flex; flex-wrap: wrap; justify-content: flex-end; gap: .3rem; margin-top: .25rem; }
.actions button, .actions select { font-size: .8rem; min-height: 2rem; padding: .2rem .55rem;
  border: 1px solid #b7c1c7; border-radius: .4rem; background: #fff; }
.actions select { max-width: 100%; }
.actions .danger { border-color: var(--bad); color: var(--bad); }
.reply { display: flex; flex-wrap: wrap; gap: .4rem; padding: .5rem; background: #f0f2f5; border-top: 1px solid #d1d7db; }
.reply input { flex: 1; min-width: 0; padding: .55rem .8rem; border: 1px solid #c3cbd0; border-radius: 1.3rem; font-size: 1rem; }
.reply button { padding: .55rem 1.1rem; border: 0; border-radius: 1.3rem; background: var(--brand); color: #fff; font-weight: 600; }
.reply button:disabled, .actions button:disabled { opacity: .6; cursor: progress; }
.note { flex-basis: 100%; margin: 0 .4rem; min-height: 1.1em; font-size: .8rem; color: var(--muted); }
@media (min-width: 760px) {
  main { flex-direction: row; }
  .chats { width: 20rem; flex: none; overflow-y: auto; border-bottom: 0; border-right: 1px solid #d1d7db; }
  #conversation-list { flex-direction: column; overflow-x: visible; }
  .chat-button { width: 100%; max-width: none; }
}
`;

// Client code: no template literals (this file is one), and text only ever reaches the DOM as text nodes.
const SCRIPT = String.raw`
(() => {
  'use strict';
  const config = JSON.parse(document.getElementById('phone-config').textContent);
  const CONTROL = config.controlPrefix;
  const FINAL = new Set(['read', 'failed', 'undelivered', 'canceled', 'received']);
  const DELIVERED = new Set(['delivered', 'partially_delivered']);
  const TICKS = { sent: '\u2713', delivered: '\u2713\u2713', partially_delivered: '\u2713\u2713', read: '\u2713\u2713',
    failed: '\u2717', undelivered: '\u2717', canceled: '\u2298', received: '' };
  const PENDING_TICK = '\u25F7';
  const E164 = /^\+[1-9][0-9]{6,14}$/;

  const state = { etag: null, messages: [], fates: {}, started: new Set(), selected: null, loaded: false };
  const panels = new Map();
  const navItems = new Map();
  let idCounter = 0;

  const byId = (id) => document.getElementById(id);
  const els = {
    connection: byId('connection'), list: byId('conversation-list'), noChats: byId('no-chats'),
    panels: byId('chats-panels'), noChat: byId('no-chat'), announcer: byId('announcer'),
    newChat: byId('new-chat'), newNumber: byId('new-number'), newChatNote: byId('new-chat-note'),
  };

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children || []) node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    return node;
  }

  const nextId = (prefix) => prefix + '-' + (++idCounter);
  const numberOf = (address) => String(address || '').replace(/^whatsapp:/i, '');
  const statusWord = (status) => String(status).split('_').join(' ');
  const tickFor = (status) => (status in TICKS ? TICKS[status] : PENDING_TICK);
  const createdAt = (m) => (m.statusHistory.length > 0 ? m.statusHistory[0].at : m.resource.date_created);
  const clip = (text, max) => (text.length > max ? text.slice(0, max - 1) + '\u2026' : text);

  function formatTime(value) {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function preview(m) {
    if (!m) return 'No messages yet';
    const text = m.resource.body || (m.mediaUrls.length > 0 ? 'Attachment' : '(empty)');
    return (m.resource.direction === 'inbound' ? '' : 'You: ') + clip(text.replace(/\s+/g, ' '), 60);
  }

  function announce(text) {
    els.announcer.textContent = '';
    // A separate task, so screen readers see a change even when the same text comes twice.
    setTimeout(() => { els.announcer.textContent = text; }, 50);
  }

  async function request(method, path, body) {
    const init = { method, cache: 'no-store', headers: {} };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(CONTROL + path, init);
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (err) { data = null; }
    if (!res.ok) {
      const reason = data && (data.error || data.message);
      throw new Error(reason ? String(reason) : 'HTTP ' + res.status);
    }
    return data;
  }

  function conversations() {
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

  function announceNew(number, m) {
    const text = clip(m.resource.body || 'an attachment', 140);
    announce(m.resource.direction === 'inbound' ? number + ' wrote: ' + text : 'Sent to ' + number + ': ' + text);
  }

  function syncHold(panel) {
    // While a change is on its way, a poll would show the old fate for a moment.
    if (panel.hold.disabled) return;
    const fate = state.fates[panel.number];
    let custom = panel.hold.querySelector('option[data-custom]');
    let value = 'read';
    if (fate && typeof fate.errorCode === 'number') {
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

  function createItem(m) {
    const r = m.resource;
    const inbound = r.direction === 'inbound';
    const bodyId = 'body-' + m.sid;
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

  function mediaLink(url) {
    if (!/^https?:\/\//i.test(url)) return el('span', {}, [url]);
    return el('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, [url]);
  }

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

  function renderActions(item, m) {
    const status = m.resource.status;
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

  function actionButton(label, item, run, extraClass) {
    const button = el('button', { type: 'button', class: extraClass || null, 'aria-describedby': item.bodyId }, [label]);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await run();
      } catch (err) {
        const panel = panelOf(item.li);
        if (panel) panel.note.textContent = label + ' failed: ' + err.message;
        button.disabled = false;
      }
      refreshSoon();
    });
    return button;
  }

  function panelOf(node) {
    const section = node.closest('section.chat');
    return section ? panels.get(section.getAttribute('data-number')) : undefined;
  }

  function forceStatus(sid, body) {
    return request('POST', '/messages/' + encodeURIComponent(sid) + '/status', body);
  }

  async function setHold(panel, value) {
    panel.hold.disabled = true;
    try {
      const path = '/numbers/' + encodeURIComponent(panel.number) + '/fate';
      const answer = value === 'read' ? await request('DELETE', path) : await request('PUT', path, { status: value });
      state.fates = answer.fates;
      panel.note.textContent = value === 'read'
        ? 'New messages to ' + panel.number + ' go all the way to read.'
        : 'New messages to ' + panel.number + ' stop at ' + value + '.';
    } catch (err) {
      panel.note.textContent = 'Could not change it: ' + err.message;
    } finally {
      panel.hold.disabled = false;
      syncHold(panel);
    }
  }

  async function reply(panel) {
    const body = panel.input.value;
    if (!body.trim()) return;
    panel.send.disabled = true;
    try {
      const answer = await request('POST', '/inbound', { from: panel.number, to: panel.business, body });
      panel.input.value = '';
      if (answer.status === 0) {
        panel.note.textContent = 'Stored in the sandbox, but the service did not answer (no inbound webhook URL, or it is down).';
      } else if (answer.status < 300) {
        panel.note.textContent = 'Delivered to the service (HTTP ' + answer.status + ').';
      } else {
        panel.note.textContent = 'The service refused it: HTTP ' + answer.status + '.';
      }
    } catch (err) {
      panel.note.textContent = 'Could not send: ' + err.message;
    } finally {
      panel.send.disabled = false;
      panel.input.focus();
      refreshSoon();
    }
  }

  const hashFor = (number) => '#' + encodeURIComponent(number);

  function numberFromHash() {
    try {
      const number = decodeURIComponent(location.hash.slice(1)).trim();
      return E164.test(number) ? number : null;
    } catch (err) {
      return null;
    }
  }

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

  function focusReply(number) {
    const panel = panels.get(number);
    if (panel) panel.input.focus();
  }

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

  let online = null;
  function setOnline(value) {
    if (online === value) return;
    online = value;
    els.connection.setAttribute('data-online', String(value));
    els.connection.textContent = value ? 'Live' : 'Sandbox unreachable, retrying\u2026';
  }

  async function refresh() {
    const headers = state.etag ? { 'If-None-Match': state.etag } : {};
    const [messagesRes, numbers] = await Promise.all([
      fetch(CONTROL + '/messages', { cache: 'no-store', headers }),
      request('GET', '/numbers'),
    ]);
    let changed = JSON.stringify(numbers.fates) !== JSON.stringify(state.fates);
    state.fates = numbers.fates;
    if (messagesRes.status !== 304) {
      if (!messagesRes.ok) throw new Error('HTTP ' + messagesRes.status);
      state.messages = await messagesRes.json();
      state.etag = messagesRes.headers.get('ETag');
      changed = true;
    }
    if (changed || !state.loaded) render();
    state.loaded = true;
  }

  let timer = null;
  let running = false;
  let again = false;
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
    } catch (err) {
      setOnline(false);
    }
    running = false;
    if (again) { again = false; schedule(0); } else { schedule(config.pollIntervalMs); }
  }

  const initial = numberFromHash();
  if (initial) openChat(initial);
  poll();
})();
`;

function jsonForScriptTag(value: unknown): string {
  // Inside <script>, "</script>" or "<!--" in a string would end or confuse the element.
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const cspHash = (source: string): string => `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;

/**
 * Only the page's own inline script and style may run, so a message body that ever slipped
 * past the text-node rendering still could not execute.
 */
export const PHONE_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${cspHash(SCRIPT)}`,
  `style-src ${cspHash(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const PHONE_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Twilio sandbox phone</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header class="app-head">
  <h1>Twilio sandbox phone</h1>
  <p id="connection" role="status" data-online="">Connecting…</p>
</header>
<main>
  <nav class="chats" aria-labelledby="chats-title">
    <h2 id="chats-title">Conversations</h2>
    <ol id="conversation-list"></ol>
    <p id="no-chats">No conversations yet.</p>
    <form id="new-chat" novalidate>
      <label for="new-number">Write as</label>
      <input id="new-number" type="tel" inputmode="tel" autocomplete="off" placeholder="+14155550123">
      <button type="submit">Open chat</button>
      <p id="new-chat-note" role="alert"></p>
    </form>
  </nav>
  <div id="chats-panels">
    <p id="no-chat">Messages the service sends through this sandbox show up here, one conversation per recipient.
      Send one with <code>POST /api/v1/whatsapp/send</code>, or open a chat as a user and write first.</p>
  </div>
</main>
<div id="announcer" class="visually-hidden" aria-live="polite"></div>
<script type="application/json" id="phone-config">${jsonForScriptTag(PHONE_PAGE_CONFIG)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
