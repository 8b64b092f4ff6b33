// The authorization code flow with PKCE by panva's oauth4webapi, with an https-less (development)
// client ID metadata document URL as client_id: discovery, the authorization request, a scripted
// browser (sign-in and consent), the response's iss/state checks, the code exchange as a public
// client (token_endpoint_auth_method none) and a call to the API.
// JS_CONFIG: {issuer, client_id, redirect_uri, email, password, api}
import * as oauth from "oauth4webapi";

const cfg = JSON.parse(process.env.JS_CONFIG);
const insecure = { [oauth.allowInsecureRequests]: true }; // the test server is plain http
const issuer = new URL(cfg.issuer);
const as = await oauth.processDiscoveryResponse(
  issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: "oauth2" }));
const client = { client_id: cfg.client_id };

const verifier = oauth.generateRandomCodeVerifier();
const state = oauth.generateRandomState();
const authorize = new URL(as.authorization_endpoint);
for (const [k, v] of Object.entries({
  client_id: client.client_id, redirect_uri: cfg.redirect_uri, response_type: "code",
  scope: "check-status", state, code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
})) authorize.searchParams.set(k, v);

// A minimal browser: cookies kept, redirects not followed.
const jar = new Map();
async function browse(url, init = {}) {
  const headers = new Headers(init.headers || {});
  if (jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
  const res = await fetch(url, { ...init, headers, redirect: "manual" });
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return res;
}
function fields(html) {
  const out = {};
  for (const m of html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) out[m[1]] = m[2];
  return out;
}
const unescape = (s) => s.replaceAll("&amp;", "&");

let res = await browse(authorize);
if (res.status !== 302) throw new Error(`authorize: ${res.status} ${await res.text()}`);
const loginUrl = new URL(res.headers.get("location"), authorize);
const loginPage = await (await browse(loginUrl)).text();
const action = new URL(unescape(loginPage.match(/<form method="post" action="([^"]+)"/)[1]), loginUrl);
res = await browse(action, {
  method: "POST",
  body: new URLSearchParams({ ...fields(loginPage), email: cfg.email, password: cfg.password }),
});
if (res.status !== 302) throw new Error(`login: ${res.status}`);
const back = new URL(res.headers.get("location"), action);
const consent = await (await browse(back)).text();
const host = new URL(cfg.client_id).host;
const namesHost = consent.includes(`passport-client-host">${host}<`);
res = await browse(new URL("/oauth/authorize", issuer), {
  method: "POST",
  body: new URLSearchParams({ ...fields(consent), approve: "Authorize" }),
});
if (res.status !== 302) throw new Error(`consent: ${res.status} ${await res.text()}`);

const params = oauth.validateAuthResponse(as, client, new URL(res.headers.get("location")), state);
const response = await oauth.authorizationCodeGrantRequest(
  as, client, oauth.None(), params, cfg.redirect_uri, verifier, insecure);
const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
const claims = JSON.parse(Buffer.from(tokens.access_token.split(".")[1], "base64url").toString());
const me = await (await fetch(cfg.api, {
  headers: { authorization: `Bearer ${tokens.access_token}` } })).json();

console.log(JSON.stringify({
  supported: as.client_id_metadata_document_supported === true,
  consent_names_host: namesHost,
  client_id_claim: claims.client_id,
  email: me.email,
  has_refresh_token: typeof tokens.refresh_token === "string",
}));
