// oauth4webapi 3.8.9 with an Ed25519 DPoP key: its proofs say alg "Ed25519" (RFC 9864), not
// "EdDSA". Client credentials for the app's own protected resource (resource = the issuer),
// then the protected route with the bound token.
// Config (JS_CONFIG): {issuer, client_id, client_secret, api}. Prints one JSON object.
import * as oauth from 'oauth4webapi'

const cfg = JSON.parse(process.env.JS_CONFIG)
const proofAlgs = []
const options = {
  [oauth.allowInsecureRequests]: true,
  [oauth.customFetch]: (url, init) => {
    const proof = new Headers(init?.headers).get('dpop')
    if (proof) proofAlgs.push(JSON.parse(Buffer.from(proof.split('.')[0], 'base64url')).alg)
    return fetch(url, init)
  },
}
const issuer = new URL(cfg.issuer)
const as = await oauth.processDiscoveryResponse(
  issuer, await oauth.discoveryRequest(issuer, options))
const client = { client_id: cfg.client_id }
const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('Ed25519'))
const params = new URLSearchParams({ scope: 'check-status', resource: cfg.issuer })
const response = await oauth.clientCredentialsGrantRequest(
  as, client, oauth.ClientSecretBasic(cfg.client_secret), params, { DPoP, ...options })
const result = await oauth.processClientCredentialsResponse(as, client, response)
const api = await oauth.protectedResourceRequest(
  result.access_token, 'GET', new URL(cfg.api), new Headers(), null, { DPoP, ...options })
const aud = JSON.parse(Buffer.from(result.access_token.split('.')[1], 'base64url')).aud
console.log(JSON.stringify({
  token_type: result.token_type, aud, proof_algs: proofAlgs, api_status: api.status,
}))
