// A relying party built on panva's openid-client (v5), driven against the example app:
// discovery, code + PKCE + nonce + max_age, ID token validation (signature from the JWKS, iss,
// aud, exp, iat, nonce, at_hash, auth_time), userinfo, refresh (a new ID token), a tampered
// ID token refused, and RP-initiated logout. Prints one JSON line; exits non-zero on failure.
import { Issuer, generators } from "openid-client";

const config = JSON.parse(process.env.RP_CONFIG);
const base = config.issuer;
const jar = new Map();

function remember(res) {
  for (const cookie of res.headers.getSetCookie()) {
    const [pair] = cookie.split(";");
    const eq = pair.indexOf("=");
    jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
}

async function browse(url, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const res = await fetch(url, { ...init, headers, redirect: "manual" });
  remember(res);
  return res;
}

function inputs(html) {
  const fields = {};
  for (const m of html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[m[1]] = m[2];
  return fields;
}

const form = (data) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(data).toString(),
});

const issuer = await Issuer.discover(base);
const client = new issuer.Client({
  client_id: config.client.id,
  redirect_uris: [config.client.redirect_uri],
  post_logout_redirect_uris: [config.client.post_logout_redirect_uri],
  response_types: ["code"],
  token_endpoint_auth_method: "none",
  id_token_signed_response_alg: issuer.id_token_signing_alg_values_supported[0],
});

// The user signs in through the example app's login form.
const loginPage = await browse(`${base}/login`);
const csrf = inputs(await loginPage.text()).csrf_token;
const login = await browse(`${base}/login`, form({ csrf_token: csrf, email: config.user.email, password: config.user.password }));
if (login.status !== 302) throw new Error(`login failed: ${login.status}`);

const nonce = generators.nonce();
const state = generators.state();
const verifier = generators.codeVerifier();
const url = client.authorizationUrl({
  scope: "openid profile email",
  nonce, state, max_age: 600,
  code_challenge: generators.codeChallenge(verifier),
  code_challenge_method: "S256",
});
let res = await browse(url);
if (res.status === 200) {
  const fields = inputs(await res.text());
  res = await browse(`${base}/oauth/authorize`, form({ ...fields, approve: "Authorize" }));
}
const location = res.headers.get("location");
if (!location || !location.startsWith(config.client.redirect_uri)) throw new Error(`no callback: ${res.status} ${location}`);

const params = client.callbackParams(location);
const tokenSet = await client.callback(config.client.redirect_uri, params, {
  nonce, state, max_age: 600, code_verifier: verifier,
});
const claims = tokenSet.claims();
const userinfo = await client.userinfo(tokenSet);

const refreshed = await client.refresh(tokenSet);
const refreshedSub = refreshed.id_token ? refreshed.claims().sub : null;

// A tampered ID token (payload changed after signing) must be refused by the library.
let tamperedRejected = false;
try {
  const [h, p, s] = tokenSet.id_token.split(".");
  const payload = JSON.parse(Buffer.from(p, "base64url").toString());
  payload.at_hash = "AAAAAAAAAAAAAAAAAAAAAA";
  const forged = [h, Buffer.from(JSON.stringify(payload)).toString("base64url"), s].join(".");
  await client.validateIdToken({ ...tokenSet, id_token: forged, claims: tokenSet.claims });
} catch (err) {
  tamperedRejected = true;
}

const logoutUrl = client.endSessionUrl({
  id_token_hint: tokenSet.id_token,
  post_logout_redirect_uri: config.client.post_logout_redirect_uri,
  state: "node-state",
});
const logout = await browse(logoutUrl);

console.log(JSON.stringify({
  ok: true,
  claims,
  userinfo,
  refreshed_sub: refreshedSub,
  tampered_rejected: tamperedRejected,
  logout_location: logout.headers.get("location"),
}));
