// The driver's access to the REST API: the bearer token of POST /api/v1/auth/token, kept in
// memory and in sessionStorage. Why there: the page runs only our own scripts (the CSP allows
// 'self' scripts and no inline script), sessionStorage lives with this tab only and ends with
// it (no other tab or later visitor of a shared phone inherits it), and a token that is never a
// cookie cannot be ridden by another site's request (no CSRF). An expired or refused token
// (401) is dropped and the driver sent back to the login form.
const KEY = "chargeledger.app.token";
let token = null;  // {value, expiresAt} with expiresAt in ms since the epoch

export class Expired extends Error {}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function restore() {
  try {
    const kept = JSON.parse(sessionStorage.getItem(KEY) || "null");
    if (kept && kept.value && kept.expiresAt > Date.now()) token = kept;
  } catch (_) {
    token = null;
  }
  return token !== null;
}

export function forget() {
  token = null;
  sessionStorage.removeItem(KEY);
}

async function failure(answer) {
  let code = "http_" + answer.status;
  let message = "The server answered " + answer.status + ".";
  try {
    const body = await answer.json();
    if (body.error) ({code, message} = body.error);
  } catch (_) { /* not JSON: keep the status */ }
  return new ApiError(answer.status, code, message);
}

export async function login(username, password) {
  const answer = await fetch("/api/v1/auth/token", {
    method: "POST",
    body: new URLSearchParams({username, password}),
  });
  if (!answer.ok) throw await failure(answer);
  const body = await answer.json();
  token = {value: body.access_token, expiresAt: Date.now() + body.expires_in * 1000};
  sessionStorage.setItem(KEY, JSON.stringify(token));
}

async function call(path, params, init) {
  if (token === null || token.expiresAt <= Date.now()) {
    forget();
    throw new Expired("not logged in");
  }
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
  }
  const options = {...(init || {})};
  options.headers = {...(options.headers || {}), Authorization: "Bearer " + token.value};
  const answer = await fetch(url, options);
  if (answer.status === 401) {
    forget();
    throw new Expired("the token was refused");
  }
  if (!answer.ok) throw await failure(answer);
  return answer;
}

export async function get(path, params) {
  return (await call(path, params)).json();
}

// A POST with a JSON body; ``headers`` adds e.g. the Idempotency-Key of a start.
export async function post(path, body, headers) {
  const answer = await call(path, null, {
    method: "POST",
    headers: {"Content-Type": "application/json", ...(headers || {})},
    body: JSON.stringify(body || {}),
  });
  return answer.json();
}

// Server-sent events read with fetch(): EventSource cannot send the Authorization header, and
// a token in the URL would end up in logs and history. Each "data:" line's JSON goes to
// ``onEvent``; comment lines (the server's heartbeat) are skipped. Resolves when the server
// ends the stream (the session ended) or ``signal`` aborts it.
export async function stream(path, onEvent, signal) {
  const answer = await call(path, null, {headers: {Accept: "text/event-stream"}, signal});
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let data = null;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, "");
      buffer = buffer.slice(end + 1);
      if (line.startsWith("data:")) data = (data === null ? "" : data + "\n") + line.slice(5).trimStart();
      else if (line === "" && data !== null) {
        onEvent(JSON.parse(data));
        data = null;
      }
    }
  }
}

// A document the driver may read, saved through a link to its bytes (a plain link could not
// carry the bearer token).
export async function download(path) {
  const answer = await call(path);
  const disposition = answer.headers.get("Content-Disposition") || "";
  const named = /filename="([^"]+)"/.exec(disposition);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await answer.blob());
  link.download = named ? named[1] : "document.pdf";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}
