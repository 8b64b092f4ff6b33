// An independent DPoP client (RFC 9449): oauth4webapi 3.8.9's DPoP handle against the running
// example server. Client credentials with a DPoP-bound token (retrying once with the server's
// nonce when asked), then the protected resource with protectedResourceRequest; the same token
// without its key (as Bearer, and with another key's proofs) must be refused.
// Config (JS_CONFIG): {issuer, client_id, client_secret, resource}. Prints one JSON object.
import * as oauth from 'oauth4webapi'

const cfg = JSON.parse(process.env.JS_CONFIG)
const insecure = { [oauth.allowInsecureRequests]: true }
const issuer = new URL(cfg.issuer)
const as = await oauth.processDiscoveryResponse(
  issuer, await oauth.discoveryRequest(issuer, insecure))
const client = { client_id: cfg.client_id }
const clientAuth = oauth.ClientSecretBasic(cfg.client_secret)
const keyPair = await oauth.generateKeyPair('ES256')
const DPoP = oauth.DPoP(client, keyPair)

async function token() {
  const response = await oauth.clientCredentialsGrantRequest(
    as, client, clientAuth, new URLSearchParams({ scope: 'check-status' }), { DPoP, ...insecure })
  return oauth.processClientCredentialsResponse(as, client, response)
}

let nonceRetried = false
let result
try {
  result = await token()
} catch (err) {
  if (!oauth.isDPoPNonceError(err)) throw err
  nonceRetried = true // the handle kept the DPoP-Nonce header; one retry uses it
  result = await token()
}

const resource = new URL(cfg.resource)
async function call(handle, retry = true) {
  try {
    const response = await oauth.protectedResourceRequest(
      result.access_token, 'GET', resource, new Headers(), null, { DPoP: handle, ...insecure })
    return { status: response.status, body: response.ok ? await response.json() : null }
  } catch (err) {
    if (retry && oauth.isDPoPNonceError(err)) return call(handle, false) // nonce now cached
    if (err instanceof oauth.WWWAuthenticateChallengeError) {
      return { status: err.response.status, challenge: err.cause[0]?.parameters?.error }
    }
    throw err
  }
}

const withKey = await call(DPoP)
const asBearer = await fetch(resource, { headers: { authorization: `Bearer ${result.access_token}` } })
const thief = await call(oauth.DPoP(client, await oauth.generateKeyPair('ES256')))

console.log(JSON.stringify({
  token_type: result.token_type,
  nonce_retried: nonceRetried,
  metadata_algs: as.dpop_signing_alg_values_supported,
  resource: withKey,
  as_bearer: { status: asBearer.status, challenge: asBearer.headers.get('www-authenticate') },
  other_key: thief,
}))
