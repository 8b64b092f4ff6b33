// An independent FAPI 2.0-style client (panva's oauth4webapi) against the example server run
// with PASSPORT_PROFILE = "fapi2": PAR, private_key_jwt, DPoP and S256 PKCE throughout.
// JS_CONFIG: {"step": "push" | "exchange", "issuer", "client_id", "private_jwk" (alg, kid),
//             "redirect_uri", "scope", "resource",
//             and for "exchange": "callback", "state", "code_verifier", "dpop_jwk"}
// Step "push" prints the request_uri, the PKCE verifier and the DPoP key (private JWK) that
// step "exchange" re-imports. Prints one JSON object as its last line.
import * as oauth from 'oauth4webapi'
import { decodeJwt, importJWK } from 'jose'

const config = JSON.parse(process.env.JS_CONFIG)
const insecure = { [oauth.allowInsecureRequests]: true }

const issuer = new URL(config.issuer)
const as = await oauth.processDiscoveryResponse(
  issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }))
const client = { client_id: config.client_id }
const clientKey = await importJWK(config.private_jwk, config.private_jwk.alg)
const auth = oauth.PrivateKeyJwt({ key: clientKey, kid: config.private_jwk.kid })

// Runs fn once more when the server answers with a DPoP nonce (the handle keeps it).
async function withNonceRetry (fn) {
  try {
    return await fn()
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err
    return fn()
  }
}

async function push () {
  const dpopKeys = await oauth.generateKeyPair('ES256', { extractable: true })
  const DPoP = oauth.DPoP(client, dpopKeys)
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const params = new URLSearchParams({
    redirect_uri: config.redirect_uri,
    response_type: 'code',
    scope: config.scope,
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  })
  const result = await withNonceRetry(async () => oauth.processPushedAuthorizationResponse(
    as, client, await oauth.pushedAuthorizationRequest(as, client, auth, params,
      { DPoP, ...insecure })))
  return {
    request_uri: result.request_uri,
    code_verifier: codeVerifier,
    state,
    dpop_jwk: await crypto.subtle.exportKey('jwk', dpopKeys.privateKey),
    metadata: {
      require_pushed_authorization_requests: as.require_pushed_authorization_requests,
      token_endpoint_auth_methods_supported: as.token_endpoint_auth_methods_supported,
      dpop_signing_alg_values_supported: as.dpop_signing_alg_values_supported,
      authorization_response_iss_parameter_supported:
        as.authorization_response_iss_parameter_supported,
    },
  }
}

async function exchange () {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' }
  const { d, ...publicJwk } = config.dpop_jwk
  const dpopKeys = {
    privateKey: await crypto.subtle.importKey('jwk', config.dpop_jwk, alg, false, ['sign']),
    publicKey: await crypto.subtle.importKey('jwk', { ...publicJwk, key_ops: ['verify'] }, alg,
      true, ['verify']),
  }
  const DPoP = oauth.DPoP(client, dpopKeys)
  // Checks state and, as the metadata advertises it, iss (RFC 9207).
  const params = oauth.validateAuthResponse(as, client, new URL(config.callback), config.state)
  let rawTokenType = null
  const token = await withNonceRetry(async () => {
    const response = await oauth.authorizationCodeGrantRequest(
      as, client, auth, params, config.redirect_uri, config.code_verifier,
      { DPoP, ...insecure })
    // processAuthorizationCodeResponse lowercases token_type; keep the server's spelling too.
    if (response.ok) rawTokenType = (await response.clone().json()).token_type
    return oauth.processAuthorizationCodeResponse(as, client, response)
  })
  const api = await withNonceRetry(() => oauth.protectedResourceRequest(
    token.access_token, 'GET', new URL(config.resource), new Headers(), null,
    { DPoP, ...insecure }))
  return {
    token_type: rawTokenType,
    processed_token_type: token.token_type,
    access_token: token.access_token,
    cnf_jkt: decodeJwt(token.access_token).cnf?.jkt ?? null,
    api_status: api.status,
    api_body: api.ok ? await api.json() : null,
  }
}

const steps = { push, exchange }
console.log(JSON.stringify(await steps[config.step]()))
