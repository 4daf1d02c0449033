/* Tutela cookie banner. Vanilla JS, no dependencies, no eval, no inline styles. */
(() => {
  const W = window, D = document, NAME = 'tutela_consent';
  const me = D.currentScript || D.querySelector('script[src*="/consent/banner.js"]');
  const attr = (n) => (me && me.getAttribute(n)) || '';
  const base = attr('data-endpoint') || (me && me.src ? new URL(me.src).origin : location.origin);
  const wanted = (attr('data-lang') || D.documentElement.lang || 'de').toLowerCase();
  const lang = wanted.startsWith('de') ? 'de' : 'en';
  const MODE = {
    functional: ['functionality_storage', 'personalization_storage'],
    analytics: ['analytics_storage'],
    marketing: ['ad_storage', 'ad_user_data', 'ad_personalization'],
  };
  let cfg = null, stored = read(), granted = [], gpc = navigator.globalPrivacyControl === true;
  let root, dialog, layers, reopen, opener, wantOpen = false, sent = Promise.resolve();
  const active = {};

  // Google Consent Mode v2: everything denied before any tag can run.
  W.dataLayer = W.dataLayer || [];
  if (typeof W.gtag !== 'function') W.gtag = function gtag() { W.dataLayer.push(arguments); };
  W.gtag('consent', 'default', Object.assign(signals([]), { wait_for_update: 500 }));

  function signals(allowed) {
    const out = { security_storage: 'granted' };
    for (const c in MODE) for (const k of MODE[c]) out[k] = allowed.includes(c) ? 'granted' : 'denied';
    return out;
  }

  function read() {
    const m = D.cookie.match(/(?:^|;\s*)tutela_consent=([^;]*)/);
    try {
      const v = m && JSON.parse(decodeURIComponent(m[1]));
      return v && typeof v.id === 'string' && Array.isArray(v.allowed) ? v : null;
    } catch (e) { return null; }
  }

  const valid = () => !!stored && stored.rev === cfg.revision &&
    Date.now() - stored.at < cfg.max_age_days * 864e5;
  const optional = () => cfg.categories.filter((c) => !c.required).map((c) => c.id);
  const underGpc = (c) => gpc && cfg.gpc_categories.includes(c);
  // A GPC category counts only with its own explicit opt-in while the signal is on.
  const effective = (v) => v.allowed.filter((c) => !underGpc(c) || (v.optin || []).includes(c));

  function newId() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function save(allowed, method) {
    const previous = valid() ? stored.allowed : null;
    allowed = optional().filter((c) => allowed.includes(c));
    const optin = allowed.filter(underGpc);
    stored = { id: (stored && stored.id) || newId(), rev: cfg.revision, at: Date.now(), allowed, optin };
    D.cookie = NAME + '=' + encodeURIComponent(JSON.stringify(stored)) + '; Max-Age=' +
      cfg.max_age_days * 86400 + '; Path=/; SameSite=Lax' + (location.protocol === 'https:' ? '; Secure' : '');
    const body = { visitor_id: stored.id, revision: cfg.revision, language: cfg.language,
      categories: allowed, gpc, gpc_opt_in: optin, method };
    sent = fetch(base + '/consent/decision', { method: 'POST', credentials: 'omit', keepalive: true,
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).catch(() => {});
    close();
    apply(allowed, previous || []);
  }

  function apply(allowed, previous) {
    granted = allowed;
    W.gtag('consent', 'update', signals(allowed));
    const refused = optional().filter((c) => !allowed.includes(c));
    clear(refused);
    D.dispatchEvent(new CustomEvent('tutela:consent', { detail: { allowed: allowed.slice() } }));
    // A script that already runs cannot be stopped: reload when its category was withdrawn.
    if (previous.some((c) => refused.includes(c) && active[c])) sent.then(() => location.reload());
    else ready(activate);
  }

  function activate() {
    for (const old of D.querySelectorAll('script[type="text/plain"][data-tutela-category]')) {
      const cats = old.getAttribute('data-tutela-category').split(/\s+/).filter(Boolean);
      if (!cats.every((c) => c === 'necessary' || granted.includes(c))) continue;
      const s = D.createElement('script');
      for (const a of old.attributes) {
        if (!['type', 'data-tutela-category', 'data-type', 'data-src', 'nonce'].includes(a.name)) {
          s.setAttribute(a.name, a.value);
        }
      }
      if (old.getAttribute('data-type')) s.type = old.getAttribute('data-type');
      if (old.nonce) s.nonce = old.nonce;
      const src = old.getAttribute('data-src') || old.getAttribute('src');
      if (src) { s.src = src; s.async = old.hasAttribute('async'); } else s.text = old.text;
      for (const c of cats) active[c] = true;
      old.replaceWith(s);
    }
  }

  function clear(cats) {
    const host = location.hostname.split('.');
    for (const c of cfg.categories) {
      if (!cats.includes(c.id)) continue;
      for (const k of c.cookies) {
        if (k.storage !== 'cookie') {
          try { W[k.storage === 'local_storage' ? 'localStorage' : 'sessionStorage'].removeItem(k.name); } catch (e) { /* blocked */ }
          continue;
        }
        const prefix = k.name.endsWith('*') ? k.name.slice(0, -1) : null;
        const names = prefix === null ? [k.name] : D.cookie.split(';')
          .map((x) => x.split('=')[0].trim()).filter((n) => n.startsWith(prefix));
        for (const n of names) {
          const dead = n + '=; Max-Age=0; Path=/';
          D.cookie = dead;
          for (let i = 0; i < host.length - 1; i++) D.cookie = dead + '; Domain=.' + host.slice(i).join('.');
        }
      }
    }
  }

  function el(tag, props, kids) {
    const e = D.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === false || v == null) continue;
      if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids || []) if (c) e.append(c);
    return e;
  }

  function category(c, t) {
    const id = 'tcb-c-' + c.id, blocked = underGpc(c.id);
    const box = el('input', { type: 'checkbox', id, 'data-category': c.id, disabled: c.required,
      'aria-describedby': id + '-d' });
    const label = blocked ? `${c.name}: ${t.gpc_opt_in}` : c.name;
    const cell = (text, kids) => el('td', { text }, kids);
    const rows = c.cookies.map((k) => el('tr', {}, [
      cell(null, [el('code', { text: k.name }), el('div', { class: 'tcb-small', text: `${k.description} (${k.storage_name})` })]),
      cell(k.provider), cell(k.lifetime), cell(k.party),
    ]));
    const head = [t.col_name, t.col_provider, t.col_lifetime, t.col_party].map((h) => el('th', { scope: 'col', text: h }));
    return el('div', { class: 'tcb-cat' }, [
      el('div', { class: 'tcb-cat-head' }, [box, el('label', { for: id, text: label }),
        c.required && el('span', { class: 'tcb-always', text: t.always_on })]),
      el('p', { id: id + '-d', text: c.description }),
      blocked && el('p', { class: 'tcb-gpc', text: t.gpc_category }),
      rows.length && el('details', {}, [el('summary', { text: t.details }),
        el('table', { class: 'tcb-table' }, [el('thead', {}, [el('tr', {}, head)]), el('tbody', {}, rows)])]),
    ]);
  }

  function build() {
    const t = cfg.texts, btn = (cls, text, fn) => el('button', { type: 'button', class: 'tcb-btn tcb-' + cls, text, onclick: fn });
    const kept = () => (valid() ? stored.optin || [] : []);
    const all = () => save(optional().filter((c) => !underGpc(c) || kept().includes(c)), 'accept_all');
    const none = () => save([], 'reject_all');
    const mine = () => save(Array.from(dialog.querySelectorAll('input[data-category]'))
      .filter((b) => b.checked && !b.disabled).map((b) => b.dataset.category), 'custom');
    const note = gpc && el('p', { class: 'tcb-gpc' }, [el('strong', { text: t.gpc_badge }), ' ' + t.gpc_text]);
    const link = el('a', { href: new URL(cfg.privacy_url, base).href, text: t.privacy_link });
    layers = [
      el('div', { class: 'tcb-layer' }, [
        el('h2', { id: 'tcb-t1', tabindex: '-1', text: t.title }),
        el('p', { id: 'tcb-d1', text: t.intro }),
        t.summary && el('p', { text: t.summary }), t.providers && el('p', { text: t.providers }),
        el('p', { text: t.stored_for + ' ' }, [link]), note,
        el('div', { class: 'tcb-actions' }, [btn('main', t.accept_all, all), btn('main', t.reject_all, none),
          btn('alt', t.settings, () => show(2))]),
      ]),
      el('div', { class: 'tcb-layer' }, [
        el('h2', { id: 'tcb-t2', tabindex: '-1', text: t.settings_title }),
        el('p', { id: 'tcb-d2', text: t.settings_intro }), note && note.cloneNode(true),
        ...cfg.categories.map((c) => category(c, t)),
        el('div', { class: 'tcb-actions' }, [btn('main', t.save, mine), btn('main', t.accept_all, all),
          btn('main', t.reject_all, none), btn('alt', t.back, () => show(1))]),
      ]),
    ];
    dialog = el('div', { class: 'tcb', role: 'dialog', 'aria-modal': 'true', lang: cfg.language }, [
      el('button', { type: 'button', class: 'tcb-close', 'aria-label': t.close, text: '×', onclick: close }),
      ...layers]);
    root = el('div', { class: 'tcb-backdrop', hidden: true }, [dialog]);
    reopen = el('button', { type: 'button', class: 'tcb-reopen', text: t.reopen, onclick: open });
    D.body.append(root, reopen);
    D.addEventListener('keydown', keys, true);
    D.addEventListener('focusin', (e) => { if (!root.hidden && !dialog.contains(e.target)) focusables()[0].focus(); });
  }

  function show(n) {
    if (root.hidden) opener = D.activeElement;
    root.hidden = false; reopen.hidden = true;
    D.documentElement.classList.add('tcb-open');
    dialog.dataset.layer = n;
    layers.forEach((l, i) => { l.hidden = i !== n - 1; });
    dialog.setAttribute('aria-labelledby', 'tcb-t' + n);
    dialog.setAttribute('aria-describedby', 'tcb-d' + n);
    dialog.querySelector('.tcb-close').hidden = !valid();
    if (n === 2) {
      const now = valid() ? effective(stored) : [];
      for (const b of dialog.querySelectorAll('input[data-category]')) b.checked = b.disabled || now.includes(b.dataset.category);
    }
    D.getElementById('tcb-t' + n).focus();
  }

  function close() {
    if (!root || root.hidden) return;
    root.hidden = true; reopen.hidden = false;
    D.documentElement.classList.remove('tcb-open');
    (opener && opener !== D.body && D.contains(opener) ? opener : reopen).focus();
  }

  function open() {
    if (!cfg) { wantOpen = true; return; }
    show(valid() ? 2 : 1);
  }

  const focusables = () => Array.from(dialog.querySelectorAll('a[href],button,input,summary'))
    .filter((x) => !x.disabled && x.getClientRects().length);

  function keys(e) {
    if (root.hidden) return;
    if (e.key === 'Escape') {
      e.preventDefault();
      if (dialog.dataset.layer === '2' && !valid()) show(1); else if (valid()) close();
      return;
    }
    if (e.key !== 'Tab') return;
    const f = focusables(), a = D.activeElement, first = f[0], last = f[f.length - 1];
    if (!dialog.contains(a)) { e.preventDefault(); first.focus(); }
    else if (e.shiftKey && (a === first || !f.includes(a))) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && a === last) { e.preventDefault(); first.focus(); }
  }

  function ready(fn) {
    if (D.readyState === 'loading') D.addEventListener('DOMContentLoaded', fn, { once: true }); else fn();
  }

  W.tutelaConsent = { open, close: () => cfg && valid() && close(), allowed: (c) => c === 'necessary' || granted.includes(c) };

  if (attr('data-css') !== 'none') {
    D.head.append(el('link', { rel: 'stylesheet', href: base + '/consent/banner.css' }));
  }
  fetch(`${base}/consent/config?lang=${lang}`, { credentials: 'omit' })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error('config ' + r.status))))
    .then((c) => {
      cfg = c;
      gpc = gpc || !!(c.signal && c.signal.sec_gpc);
      ready(() => {
        build();
        if (!valid()) { show(1); return; }
        const now = effective(stored);
        if (now.length !== stored.allowed.length) save(now, 'gpc'); else apply(now, []);
        if (wantOpen) open();
      });
    })
    .catch((e) => console.warn('tutela banner:', e.message));
})();
