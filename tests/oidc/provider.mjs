// A real OpenID Connect provider for the login tests: `oidc-provider` (a certified
// implementation) on loopback, with one confidential test client.
//
// What a test controls, over HTTP on the provider's own port:
// - POST /test/login {"sub", "acr": "substantiell"|"hoch"|<acr>, "claims": {...}}: who logs in
//   at the next interaction (the provider's login and consent screens are answered at once);
// - POST /test/tamper {"aud"?, "expired"?, "acr"?}: the next token response carries an ID token
//   re-signed with the provider's own key but with another audience, an expiry in the past or
//   another acr (what a broken or hostile provider would send).
//
// Environment: REDIRECT_URI, POST_LOGOUT_URI (of the app under test). Prints one JSON line
// {"issuer", "client_id", "client_secret"} when it is ready.

import http from 'node:http';
import Provider from 'oidc-provider';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from 'jose';

const ACR = {
  substantiell: 'http://eidas.europa.eu/LoA/substantial',
  hoch: 'http://eidas.europa.eu/LoA/high',
};
const CLIENT = { id: 'amtsweg', secret: 'test-secret-of-amtsweg' };

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

const accounts = new Map();
let nextLogin = null;
let tamper = null;

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      redirect_uris: [process.env.REDIRECT_URI],
      post_logout_redirect_uris: [process.env.POST_LOGOUT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  acrValues: Object.values(ACR),
  scopes: ['openid', 'profile', 'address', 'amtsweg'],
  claims: {
    acr: null,
    auth_time: null,
    sid: null,
    openid: ['sub'],
    profile: ['given_name', 'family_name', 'birthdate'],
    address: ['address'],
    amtsweg: ['ars', 'idnr'],
  },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['a-test-cookie-key-that-is-long-enough'] },
  findAccount: async (ctx, sub) =>
    accounts.has(sub) ? { accountId: sub, claims: async () => ({ sub, ...accounts.get(sub) }) } : undefined,
});
provider.proxy = false;

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/test/login') {
    const body = await readJson(ctx.req);
    accounts.set(body.sub, body.claims ?? {});
    nextLogin = body;
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/test/tamper') {
    tamper = await readJson(ctx.req);
    ctx.status = 204;
    return;
  }
  if (ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const result = {};
    if (details.prompt.name === 'login') {
      if (!nextLogin) {
        ctx.status = 400;
        ctx.body = 'no login prepared: POST /test/login first';
        return;
      }
      result.login = { accountId: nextLogin.sub, acr: ACR[nextLogin.acr] ?? nextLogin.acr, amr: ['pwd'] };
    } else if (details.prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
      result.consent = { grantId: await grant.save() };
    }
    const url = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(url);
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && tamper && ctx.body?.id_token) {
    const payload = decodeJwt(ctx.body.id_token);
    if (tamper.aud) payload.aud = tamper.aud;
    if (tamper.expired) {
      payload.iat = Math.floor(Date.now() / 1000) - 7200;
      payload.exp = Math.floor(Date.now() / 1000) - 3600;
    }
    if (tamper.acr) payload.acr = ACR[tamper.acr] ?? tamper.acr;
    tamper = null;
    const idToken = await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' }).sign(privateKey);
    ctx.body = { ...ctx.body, id_token: idToken };
  }
});

server.on('request', provider.callback());
process.stdout.write(JSON.stringify({ issuer, client_id: CLIENT.id, client_secret: CLIENT.secret }) + '\n');
