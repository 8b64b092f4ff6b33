// An independent client (panva's oauth4webapi) authenticating with private_key_jwt
// (RFC 7523 §2.2): a client_credentials token, then introspection and revocation of it, each
// request carrying a fresh assertion signed with the client's key (aud: the issuer).
// JS_CONFIG: {"issuer", "client_id", "private_jwk" (with "alg" and "kid"), "scope"}
// Prints one JSON object as its last line.
import * as oauth from 'oauth4webapi'
import { importJWK } from 'jose'

const config = JSON.parse(process.env.JS_CONFIG)
const insecure = { [oauth.allowInsecureRequests]: true }

const issuer = new URL(config.issuer)
const as = await oauth.processDiscoveryResponse(
  issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }))
const client = { client_id: config.client_id }
const key = await importJWK(config.private_jwk, config.private_jwk.alg)
const auth = oauth.PrivateKeyJwt({ key, kid: config.private_jwk.kid })

const tokenResponse = await oauth.clientCredentialsGrantRequest(
  as, client, auth, new URLSearchParams({ scope: config.scope }), insecure)
const token = await oauth.processClientCredentialsResponse(as, client, tokenResponse)

const introspected = await oauth.processIntrospectionResponse(as, client,
  await oauth.introspectionRequest(as, client, auth, token.access_token, insecure))

await oauth.processRevocationResponse(
  await oauth.revocationRequest(as, client, auth, token.access_token, insecure))

const after = await oauth.processIntrospectionResponse(as, client,
  await oauth.introspectionRequest(as, client, auth, token.access_token, insecure))

console.log(JSON.stringify({
  token_type: token.token_type,
  scope: token.scope,
  active: introspected.active,
  introspected_client_id: introspected.client_id,
  active_after_revocation: after.active,
  auth_methods: as.token_endpoint_auth_methods_supported,
}))
