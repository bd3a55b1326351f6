// The certified OpenID provider (node oidc-provider 9) set up for a public native
// client, as Rollbook's integration tests use it. Started by the test harness:
//
//   node op.mjs [--port N] [--access-token-ttl SECS]
//
// It prints one JSON line `{"issuer": "...", "port": N}` on stdout once it listens.
// Test-only admin endpoints (loopback only, never in a product):
//   POST /__admin/rotate-keys   new signing key first, old keys kept for verification
//   GET  /__admin/stats         counts of token/userinfo/revocation calls
import http from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import { Provider } from 'oidc-provider';

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const port = Number(arg('--port', '0'));
const accessTokenTtl = Number(arg('--access-token-ttl', '3600'));
const CLIENT_ID = 'rollbook-desktop';
const CONFIDENTIAL_CLIENT_ID = 'rollbook-with-secret';
const CONFIDENTIAL_CLIENT_SECRET = 'not so secret: 100% & =';

async function signingKey(kid, alg = 'RS256') {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, use: 'sig', alg };
}

const stats = { token: 0, refresh: 0, userinfo: 0, revocation: 0 };
let keys = [await signingKey('k1')];
let provider;
let issuer;

function makeProvider() {
  const p = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback', 'http://[::1]/callback', 'org.rollbook.desktop:/oauth/callback'],
    }, {
      // A provider that insists on a (non-confidential) client secret; its characters
      // need form-encoding in Basic auth (RFC 6749 §2.3.1).
      client_id: CONFIDENTIAL_CLIENT_ID,
      client_secret: CONFIDENTIAL_CLIENT_SECRET,
      application_type: 'native',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback', 'http://[::1]/callback'],
    }],
    jwks: { keys },
    cookies: { keys: ['test-only-cookie-key'] },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    ttl: { AccessToken: accessTokenTtl, IdToken: 3600, RefreshToken: 86400 },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'] },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    features: { devInteractions: { enabled: true }, revocation: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, email: `${sub}@school.example`, email_verified: true, name: `Teacher ${sub}`, given_name: 'Teacher', family_name: sub };
        },
      };
    },
  });
  p.on('grant.success', (ctx) => {
    if (ctx.oidc.params.grant_type === 'refresh_token') stats.refresh += 1; else stats.token += 1;
  });
  p.on('grant.error', (ctx, err) => process.stderr.write(`[op] grant.error ${err.error}: ${err.error_description}\n`));
  return p;
}

const server = http.createServer(async (req, res) => {
  if (req.url === '/__admin/rotate-keys' && req.method === 'POST') {
    keys = [await signingKey(`k${keys.length + 1}`), ...keys];
    provider = makeProvider();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kids: keys.map((k) => k.kid) }));
    return;
  }
  if (req.url === '/__admin/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  if (req.url.startsWith('/me')) stats.userinfo += 1;
  if (req.url.startsWith('/token/revocation')) stats.revocation += 1;
  provider.callback()(req, res);
});

server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  issuer = `http://127.0.0.1:${actual}`;
  provider = makeProvider();
  process.stdout.write(`${JSON.stringify({ issuer, port: actual, client_id: CLIENT_ID })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
