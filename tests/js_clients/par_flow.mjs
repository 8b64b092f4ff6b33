// An independent client (panva's oauth4webapi) pushing its authorization request (RFC 9126).
// With "request_object_key" (a PKCS#8 PEM, ES256) and "kid", the parameters are pushed inside a
// request object (RFC 9101, issueRequestObject).
// JS_CONFIG: {"step": "push" | "exchange", "issuer", "client_id", "client_secret"?,
//             "redirect_uri", "scope", "request_object_key"?, "kid"?,
//             and for "exchange": "callback", "code_verifier", "state"}
// Prints one JSON object as its last line.
import * as jose from 'jose'
import * as oauth from 'oauth4webapi'

const config = JSON.parse(process.env.JS_CONFIG)
const insecure = { [oauth.allowInsecureRequests]: true }

const issuer = new URL(config.issuer)
const as = await oauth.processDiscoveryResponse(
  issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }))
const client = { client_id: config.client_id }
const auth = config.client_secret ? oauth.ClientSecretBasic(config.client_secret) : oauth.None()

async function push () {
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  let params = new URLSearchParams({
    redirect_uri: config.redirect_uri,
    response_type: 'code',
    scope: config.scope,
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  })
  if (config.request_object_key) {
    const key = await jose.importPKCS8(config.request_object_key, 'ES256')
    const request = await oauth.issueRequestObject(as, client, params, { key, kid: config.kid })
    params = new URLSearchParams({ request })
  }
  const response = await oauth.pushedAuthorizationRequest(as, client, auth, params, insecure)
  const result = await oauth.processPushedAuthorizationResponse(as, client, response)
  const url = new URL(as.authorization_endpoint)
  url.searchParams.set('client_id', client.client_id)
  url.searchParams.set('request_uri', result.request_uri)
  return {
    request_uri: result.request_uri,
    expires_in: result.expires_in,
    status: response.status,
    authorization_url: url.href,
    code_verifier: codeVerifier,
    state,
    metadata_endpoint: as.pushed_authorization_request_endpoint,
    request_object: !!config.request_object_key,
  }
}

async function exchange () {
  const params = oauth.validateAuthResponse(as, client, new URL(config.callback), config.state)
  const response = await oauth.authorizationCodeGrantRequest(
    as, client, auth, params, config.redirect_uri, config.code_verifier, insecure)
  const result = await oauth.processAuthorizationCodeResponse(as, client, response)
  return { token_type: result.token_type, scope: result.scope, has_access_token: !!result.access_token }
}

const steps = { push, exchange }
console.log(JSON.stringify(await steps[config.step]()))
