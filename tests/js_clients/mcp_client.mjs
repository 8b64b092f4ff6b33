// The official MCP TypeScript SDK as an MCP client of a Passport-protected MCP server:
// Client + StreamableHTTPClientTransport with an OAuthClientProvider, so the SDK itself does
// the RFC 9728 discovery, RFC 8414 metadata, RFC 7591 registration, the authorization request
// (PKCE, resource) and the token requests; this script only plays the user's browser on the
// real login and consent pages, as a person would.
//
// JS_CONFIG: {mcp_url, redirect_uri, authz_base, email, password}
// Last stdout line: {whoami, resource, aud, scope, client_id, refreshed_whoami, steps}
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { auth, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const config = JSON.parse(process.env.JS_CONFIG);
const steps = [];

// -- the user's browser: a cookie jar over fetch, no redirects followed -----------------------
const jar = new Map();
async function browse(url, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const resp = await fetch(url, { ...init, headers, redirect: "manual" });
  for (const line of resp.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  return resp;
}
const form = (fields) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});
const inputs = (html) => Object.fromEntries(
  [...html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [m[1], m[2]]));

async function signIn() {
  const page = await (await browse(`${config.authz_base}/login`)).text();
  const login = await browse(`${config.authz_base}/login`, form({
    csrf_token: inputs(page).csrf_token, email: config.email, password: config.password }));
  if (login.status !== 302) throw new Error(`login failed: ${login.status}`);
}

// Open the authorization URL, approve on the consent page, return the redirect's URL.
async function approve(url) {
  const page = await browse(url);
  if (page.status === 302) return new URL(page.headers.get("location"));
  if (page.status !== 200) throw new Error(`consent page: ${page.status} ${await page.text()}`);
  const decided = await browse(`${config.authz_base}/oauth/authorize`,
                               form({ ...inputs(await page.text()), approve: "Authorize" }));
  if (decided.status !== 302) throw new Error(`consent: ${decided.status}`);
  return new URL(decided.headers.get("location"));
}

// -- the SDK's OAuthClientProvider, in memory -------------------------------------------------
const store = {};
const provider = {
  get redirectUrl() { return config.redirect_uri; },
  get clientMetadata() {
    return { client_name: "MCP TypeScript SDK e2e", redirect_uris: [config.redirect_uri],
             grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
             token_endpoint_auth_method: "none" };
  },
  state() { store.state = crypto.randomUUID(); return store.state; },
  clientInformation() { return store.client; },
  saveClientInformation(info) { store.client = info; steps.push("registered"); },
  tokens() { return store.tokens; },
  saveTokens(tokens) { store.tokens = tokens; steps.push("tokens saved"); },
  redirectToAuthorization(url) { store.authorizationUrl = url; steps.push("redirect"); },
  saveCodeVerifier(verifier) { store.verifier = verifier; },
  codeVerifier() { return store.verifier; },
};

async function whoami() {
  const client = new Client({ name: "passport-mcp-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(config.mcp_url),
                                                         { authProvider: provider }));
  try {
    const tools = await client.listTools();
    steps.push(`tools: ${tools.tools.map((t) => t.name).join(",")}`);
    const result = await client.callTool({ name: "whoami", arguments: {} });
    if (result.isError) throw new Error(`whoami failed: ${JSON.stringify(result)}`);
    return result.content[0].text;
  } finally {
    await client.close();
  }
}

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());

await signIn();
// 1. No token: the transport gets a 401, runs auth() (discovery, registration, the
//    authorization request) and throws UnauthorizedError after "redirecting" the user.
const transport = new StreamableHTTPClientTransport(new URL(config.mcp_url),
                                                    { authProvider: provider });
try {
  await new Client({ name: "passport-mcp-e2e", version: "1.0.0" }).connect(transport);
  throw new Error("connected without a token");
} catch (error) {
  if (!(error instanceof UnauthorizedError)) throw error;
}
const authorizationUrl = store.authorizationUrl;
const callback = await approve(authorizationUrl.href);
if (callback.searchParams.get("state") !== store.state) throw new Error("state mismatch");
if (callback.searchParams.get("iss") !== config.authz_base) throw new Error("iss mismatch");
// 2. The code: the transport exchanges it (with the code_verifier and the resource).
await transport.finishAuth(callback.searchParams.get("code"));
const access = claims(store.tokens.access_token);
// 3. The tool call with the token.
const me = await whoami();
// 4. A refresh through the SDK's auth() (the stored refresh token), then the tool again.
const before = store.tokens.access_token;
if ((await auth(provider, { serverUrl: new URL(config.mcp_url) })) !== "AUTHORIZED") {
  throw new Error("refresh did not authorize");
}
if (store.tokens.access_token === before) throw new Error("refresh returned the same token");
const again = await whoami();

console.log(JSON.stringify({
  whoami: me,
  refreshed_whoami: again,
  resource: authorizationUrl.searchParams.get("resource"),
  code_challenge_method: authorizationUrl.searchParams.get("code_challenge_method"),
  aud: Array.isArray(access.aud) ? access.aud : [access.aud],
  refreshed_aud: claims(store.tokens.access_token).aud,
  scope: access.scope,
  client_id: store.client.client_id,
  steps,
}));
