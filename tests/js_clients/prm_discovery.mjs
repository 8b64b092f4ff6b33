// RFC 9728 protected resource discovery by an independent client (panva's oauth4webapi):
// resourceDiscoveryRequest / processResourceDiscoveryResponse (which refuse a document whose
// `resource` is not the identifier asked for, §3.3), then the WWW-Authenticate challenges of
// the API (RFC 6750 §3 + RFC 9728 §5.1) as oauth4webapi parses them
// (parseWwwAuthenticateChallenges, surfaced as WWWAuthenticateChallengeError.cause), and the
// authorization server the document names (RFC 8414).
//
// JS_CONFIG: {"base_url", "resource", "client_id", "client_secret", "expired_token"}, or
// {"resource", "discovery_only": true}
// Prints one JSON object as its last line.
import * as oauth from 'oauth4webapi'

const config = JSON.parse(process.env.JS_CONFIG)
const insecure = { [oauth.allowInsecureRequests]: true } // the test server is http://127.0.0.1
const resource = new URL(config.resource)
const out = {}

// 1. The metadata, from the resource identifier alone (§3.1 URL, §3.3 check).
const response = await oauth.resourceDiscoveryRequest(resource, insecure)
out.metadata_url = response.url
const metadata = await oauth.processResourceDiscoveryResponse(resource, response)
out.metadata = metadata

// A document for another identifier is refused by the client (§3.3).
try {
  const again = await oauth.resourceDiscoveryRequest(resource, insecure)
  await oauth.processResourceDiscoveryResponse(new URL('https://elsewhere.example/api'), again)
  out.mismatch_refused = false
} catch (err) {
  out.mismatch_refused = err.code === oauth.JSON_ATTRIBUTE_COMPARISON
}

if (config.discovery_only) { // a resource identifier with a path: §3.1 insertion only
  console.log(JSON.stringify(out))
  process.exit(0)
}

// 2. The authorization server it names, discovered and validated (RFC 8414 §3.3).
const issuer = new URL(metadata.authorization_servers[0])
const as = await oauth.processDiscoveryResponse(
  issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }))
out.issuer = as.issuer

// 3. A token with one scope, then the API's challenges.
const client = { client_id: config.client_id }
const grant = await oauth.clientCredentialsGrantRequest(
  as, client, oauth.ClientSecretPost(config.client_secret),
  new URLSearchParams({ scope: 'check-status' }), insecure)
const token = (await oauth.processClientCredentialsResponse(as, client, grant)).access_token

async function challenge (accessToken, path) {
  try {
    const ok = await oauth.protectedResourceRequest(
      accessToken, 'GET', new URL(path, config.base_url), new Headers(), null, insecure)
    return { status: ok.status }
  } catch (err) {
    if (!(err instanceof oauth.WWWAuthenticateChallengeError)) throw err
    const bearer = err.cause.find((c) => c.scheme === 'bearer')
    return { status: err.response.status, parameters: bearer ? bearer.parameters : null }
  }
}

out.allowed = await challenge(token, '/api/status')
out.insufficient_scope = await challenge(token, '/api/orders')
out.expired = await challenge(config.expired_token, '/api/user')

// 4. Following the challenge's resource_metadata leads to the same, valid document.
const pointed = out.expired.parameters && out.expired.parameters.resource_metadata
if (pointed) {
  const followed = await fetch(pointed)
  out.followed = await oauth.processResourceDiscoveryResponse(resource, followed)
  out.cors = followed.headers.get('access-control-allow-origin')
}

console.log(JSON.stringify(out))
