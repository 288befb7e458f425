// The sign-in page: a console user (name and password) or an access key
// (id and secret) opens a session; the server sets the session cookie.

const form = document.getElementById('signin');
const error = document.getElementById('error');

function labels() {
  const key = form.elements.kind.value === 'key';
  document.getElementById('name-label').textContent = key ? 'Access key id' : 'User name';
  document.getElementById('secret-label').textContent = key ? 'Secret access key' : 'Password';
}

for (const radio of form.elements.kind) radio.addEventListener('change', labels);
labels();

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const name = form.elements.name.value.trim();
  const secret = form.elements.secret.value;
  const body = form.elements.kind.value === 'key'
    ? { accessKeyId: name, secretAccessKey: secret }
    : { user: name, password: secret };
  let res;
  try {
    res = await fetch('/console/api/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (e) {
    error.textContent = `The server cannot be reached (${e.message}).`;
    error.hidden = false;
    return;
  }
  if (res.ok) {
    window.location.assign('/');
    return;
  }
  let message = `Sign-in failed (HTTP ${res.status}).`;
  try {
    message = (await res.json()).message || message;
  } catch {
    // keep the status line
  }
  error.textContent = message;
  error.hidden = false;
});
