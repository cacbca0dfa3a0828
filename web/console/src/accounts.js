// Account administration (role admin): make accounts, change their role,
// purposes and name, disable them, set a new password. Every change is
// written to the audit log by the server.
import { api } from './api.js';
import { field, h, replace, uid } from './dom.js';
import { t } from './i18n.js';
import { app, purposeLabel } from './state.js';
import { table } from './supervisor.js';

export function render(main) {
  const status = h('p', { role: 'status', class: 'status', tabindex: '-1' });
  const listEl = h('div', {}, h('p', { class: 'muted', text: t('loading') }));
  let accounts = [];

  const load = async () => {
    try {
      accounts = (await api('GET', '/api/v1/admin/agents')).agents;
      drawList();
    } catch (e) {
      if (e.status !== 401) replace(listEl, h('p', { class: 'error', role: 'alert', text: e.status === 403 ? t('error.forbidden') : t('error.load') }));
    }
  };

  const drawList = () => {
    replace(
      listEl,
      table(
        t('acc.list'),
        [t('acc.username'), t('acc.name'), t('acc.role'), t('acc.purposes'), t('acc.signin'), t('acc.status'), t('acc.actions')],
        accounts.map((a) => [
          a.username,
          a.displayName,
          t('role.' + a.role),
          purposesText(a.purposes),
          a.hasPassword ? t('acc.withPassword') : t('acc.ssoOnly'),
          a.disabled ? t('acc.disabled') : t('acc.active'),
          h(
            'div',
            { class: 'row-actions' },
            h('button', { type: 'button', onclick: () => edit(a) }, t('acc.edit'), h('span', { class: 'visually-hidden', text: ' ' + a.username })),
            h('button', { type: 'button', onclick: () => password(a) }, t('acc.password'), h('span', { class: 'visually-hidden', text: ' ' + a.username })),
            a.id === app.me.agent.id
              ? null
              : h('button', { type: 'button', onclick: () => setDisabled(a, !a.disabled) }, a.disabled ? t('acc.enable') : t('acc.disable'), h('span', { class: 'visually-hidden', text: ' ' + a.username })),
          ),
        ]),
      ),
    );
  };

  // done says what happened and keeps keyboard focus there: the button
  // that did it is redrawn with the list.
  const done = async (text) => {
    status.textContent = text;
    await load();
    status.focus();
  };

  const setDisabled = async (a, disabled) => {
    try {
      await api('PATCH', '/api/v1/admin/agents/' + encodeURIComponent(a.id), { body: { disabled } });
      done(t(disabled ? 'acc.disabledDone' : 'acc.enabledDone', { user: a.username }));
    } catch (e) {
      if (e.status !== 401) status.textContent = e.message || t('error.generic');
    }
  };

  const edit = (a) =>
    dialog(t('acc.editTitle', { user: a.username }), (form, fail) => {
      const name = h('input', { type: 'text', value: a.displayName, maxlength: '100', autocomplete: 'off' });
      const role = roleSelect(a.role);
      const ps = purposePicker(a.purposes);
      form.append(field(t('acc.name'), name), field(t('acc.role'), role), ps.el);
      return async () => {
        try {
          await api('PATCH', '/api/v1/admin/agents/' + encodeURIComponent(a.id), { body: { displayName: name.value, role: role.value, purposes: ps.value() } });
          done(t('acc.saved', { user: a.username }));
          return true;
        } catch (e) {
          fail(e);
          return false;
        }
      };
    });

  const password = (a) =>
    dialog(t('acc.passwordTitle', { user: a.username }), (form, fail) => {
      const pw = h('input', { type: 'password', autocomplete: 'new-password', minlength: '12', required: true });
      form.append(field(t('acc.newPassword'), pw, t('acc.passwordHint')));
      return async () => {
        try {
          await api('POST', '/api/v1/admin/agents/' + encodeURIComponent(a.id) + '/password', { body: { password: pw.value } });
          done(t('acc.passwordDone', { user: a.username }));
          return true;
        } catch (e) {
          fail(e);
          return false;
        }
      };
    });

  // The form for a new account.
  const username = h('input', { type: 'text', required: true, autocomplete: 'off', pattern: '[A-Za-z0-9._@\\-]{2,64}', spellcheck: 'false' });
  const name = h('input', { type: 'text', maxlength: '100', autocomplete: 'off' });
  const role = roleSelect('agent');
  const picker = purposePicker([]);
  const pw = h('input', { type: 'password', autocomplete: 'new-password', minlength: '12' });
  const createError = h('p', { class: 'error', role: 'alert', hidden: true });
  const createForm = h(
    'form',
    {
      class: 'form',
      onsubmit: async (e) => {
        e.preventDefault();
        createError.hidden = true;
        try {
          const body = { username: username.value.trim(), displayName: name.value, role: role.value, purposes: picker.value() };
          if (pw.value) body.password = pw.value;
          await api('POST', '/api/v1/admin/agents', { body });
          createForm.reset();
          done(t('acc.created', { user: body.username }));
        } catch (err) {
          if (err.status === 401) return;
          createError.textContent = err.message || t('error.generic');
          createError.hidden = false;
        }
      },
    },
    field(t('acc.username'), username, t('acc.usernameHint')),
    field(t('acc.name'), name),
    field(t('acc.role'), role, t('acc.roleHint')),
    picker.el,
    field(t('acc.passwordOptional'), pw, t('acc.passwordOptionalHint')),
    createError,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: t('acc.create') })),
  );

  replace(
    main,
    h('h1', { tabindex: '-1', text: t('acc.title') }),
    status,
    h('section', { class: 'panel', 'aria-labelledby': 'acc-list' }, h('h2', { id: 'acc-list', text: t('acc.list') }), listEl),
    h('section', { class: 'panel', 'aria-labelledby': 'acc-new' }, h('h2', { id: 'acc-new', text: t('acc.new') }), createForm),
  );
  load();
  return () => {};
}

function purposesText(ps) {
  return ps.includes('*') ? t('acc.allPurposes') : ps.map(purposeLabel).join(', ');
}

function roleSelect(value) {
  return h(
    'select',
    {},
    ['agent', 'supervisor', 'admin'].map((r) => h('option', { value: r, selected: r === value, text: t('role.' + r) })),
  );
}

// purposePicker: "all purposes", or some of the configured ones.
function purposePicker(selected) {
  const all = h('input', { type: 'checkbox', id: uid('p'), checked: selected.includes('*') });
  const boxes = [...app.purposes.keys()].map((id) => ({ id, box: h('input', { type: 'checkbox', id: uid('p'), checked: selected.includes(id), value: id }) }));
  const sync = () => boxes.forEach((b) => (b.box.disabled = all.checked));
  all.addEventListener('change', sync);
  sync();
  const el = h(
    'fieldset',
    { class: 'purposes' },
    h('legend', { text: t('acc.purposes') }),
    h('div', { class: 'check' }, all, h('label', { htmlFor: all.id, text: t('acc.allPurposes') })),
    boxes.map((b) => h('div', { class: 'check' }, b.box, h('label', { htmlFor: b.box.id, text: purposeLabel(b.id) }))),
  );
  return { el, value: () => (all.checked ? ['*'] : boxes.filter((b) => b.box.checked).map((b) => b.id)) };
}

// dialog shows a modal form; build fills it and returns the submit action,
// which resolves to whether to close.
function dialog(title, build) {
  const titleId = uid('dlg');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('div', { class: 'form' });
  const fail = (e) => {
    if (e.status === 401) return;
    err.textContent = e.message || t('error.generic');
    err.hidden = false;
  };
  const submit = build(form, fail);
  const dlg = h(
    'dialog',
    { 'aria-labelledby': titleId },
    h(
      'form',
      {
        method: 'dialog',
        onsubmit: async (e) => {
          e.preventDefault();
          err.hidden = true;
          if (await submit()) dlg.close();
        },
      },
      h('h2', { id: titleId, text: title }),
      form,
      err,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: t('save') }), h('button', { type: 'button', onclick: () => dlg.close(), text: t('cancel') })),
    ),
  );
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
}

