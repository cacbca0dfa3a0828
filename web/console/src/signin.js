// Sign-in: username and password, and single sign-on when the server has
// an OpenID provider configured.
import { api, APIError } from './api.js';
import { field, h, replace } from './dom.js';
import { langSwitch, t } from './i18n.js';

// render shows the sign-in page; signedIn(me) is called after success.
// reason says why we are here (timeout, signed out, a failed single sign-on).
export function render(root, reason, signedIn) {
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, spellcheck: 'false', autocapitalize: 'none' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'notice', role: 'alert', hidden: !reason, text: reason ? t(reason) : '' });
  if (reason) message.classList.add(reason.startsWith('signin.error') ? 'error' : 'info');
  const submit = h('button', { type: 'submit', class: 'primary', text: t('signin.submit') });
  const sso = h('div', { class: 'sso' });

  const form = h(
    'form',
    {
      class: 'form',
      onsubmit: async (e) => {
        e.preventDefault();
        submit.disabled = true;
        try {
          const me = await api('POST', '/api/v1/agent/login', { body: { username: username.value.trim(), password: password.value }, quiet401: true });
          password.value = '';
          signedIn(me);
        } catch (err) {
          password.value = '';
          message.hidden = false;
          message.className = 'notice error';
          message.textContent = !(err instanceof APIError)
            ? t('error.generic')
            : err.status === 401
              ? t('signin.wrong')
              : err.status === 429
                ? t('signin.rateLimited')
                : err.status === 0
                  ? t('error.network')
                  : t('error.generic');
          password.focus();
        } finally {
          submit.disabled = false;
        }
      },
    },
    field(t('signin.username'), username),
    field(t('signin.password'), password),
    h('div', { class: 'actions' }, submit),
  );

  replace(
    root,
    h(
      'main',
      { class: 'signin', id: 'main' },
      h('div', { class: 'signin-top' }, h('p', { class: 'brand', text: 'Veilig Contact' }), langSwitch(() => render(root, reason, signedIn))),
      h('h1', { text: t('signin.title') }),
      message,
      form,
      sso,
    ),
  );
  username.focus();

  // One button per provider: the platform's, and organisations' own.
  api('GET', '/api/v1/agent/sign-in-methods', { background: true, quiet401: true })
    .then((m) => {
      const providers = ((m && m.providers) || (m && m.oidc ? [m.oidc] : [])).filter((p) => p.url && p.url.startsWith('/'));
      if (providers.length) {
        replace(
          sso,
          h('p', { class: 'or', text: t('signin.or') }),
          ...providers.map((p) => h('a', { class: 'button', href: p.url, text: t('signin.sso', { provider: p.label }) })),
        );
      }
    })
    .catch(() => {});
}
