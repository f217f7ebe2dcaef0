import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { apiKeyFormats, generateApiKey, invalidScopes } from '../../src/core/auth/api-key-format.ts';
import { generateSigningJwk, InvalidTokenError, TokenService } from '../../src/core/auth/jwt.ts';
import { constantTimeEqual, sha256Hex } from '../../src/core/auth/secrets.ts';

describe('API key format', () => {
  it('follows each product prefix; GoClaw keys are goclaw_ + 32 hex', () => {
    const k = generateApiKey('goclaw');
    expect(k.raw).toMatch(/^goclaw_[0-9a-f]{32}$/);
    expect(k.displayPrefix).toBe(k.raw.slice(0, 8));
    expect(k.hash).toBe(sha256Hex(k.raw));
    expect(generateApiKey('polykomos').raw.startsWith('pk_live_')).toBe(true);
    for (const product of Object.keys(apiKeyFormats) as (keyof typeof apiKeyFormats)[]) {
      const a = generateApiKey(product);
      const b = generateApiKey(product);
      expect(a.raw).not.toBe(b.raw);
    }
  });

  it('validates scopes against the product vocabulary', () => {
    expect(invalidScopes('goclaw', ['operator.read', 'operator.write'])).toEqual([]);
    expect(invalidScopes('goclaw', ['operator.root'])).toEqual(['operator.root']);
    expect(invalidScopes('athena', ['gateway:read', 'Bad Scope'])).toEqual(['Bad Scope']);
  });

  it('compares secrets of different lengths without throwing', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', 'x')).toBe(false);
  });
});

describe('TokenService', () => {
  it('issues and verifies, carrying kid, subject, use and scopes', async () => {
    const svc = await TokenService.fromJwks({ keys: [await generateSigningJwk()] }, 'atrium');
    const { token, kid } = await svc.issue({ subject: 'u1', tokenUse: 'query', scopes: ['logs'], ttlSeconds: 60 });
    const v = await svc.verify(token, 'query');
    expect(v).toMatchObject({ subject: 'u1', tokenUse: 'query', scopes: ['logs'], kid });
    await expect(svc.verify(token, 'platform')).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('rotates: a new first key signs, tokens of the old key still verify until it is dropped', async () => {
    const oldKey = await generateSigningJwk();
    const newKey = await generateSigningJwk();
    const before = await TokenService.fromJwks({ keys: [oldKey] }, 'atrium');
    const oldToken = (await before.issue({ subject: 's', tokenUse: 'platform', scopes: [], ttlSeconds: 60 })).token;
    const during = await TokenService.fromJwks({ keys: [newKey, oldKey] }, 'atrium');
    expect(during.signingKid).toBe(newKey.kid);
    expect((await during.verify(oldToken)).kid).toBe(oldKey.kid);
    const after = await TokenService.fromJwks({ keys: [newKey] }, 'atrium');
    await expect(after.verify(oldToken)).rejects.toThrow(/unknown signing key/);
  });

  it('rejects expired, tampered, foreign-issuer and unsigned tokens', async () => {
    const jwk = await generateSigningJwk();
    const svc = await TokenService.fromJwks({ keys: [jwk] }, 'atrium');
    const expired = (await svc.issue({ subject: 's', tokenUse: 'platform', scopes: [], ttlSeconds: -60 })).token;
    await expect(svc.verify(expired)).rejects.toBeInstanceOf(InvalidTokenError);

    const good = (await svc.issue({ subject: 's', tokenUse: 'platform', scopes: [], ttlSeconds: 60 })).token;
    const [h, p, s] = good.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'admin' })).toString('base64url')}.${s}`;
    await expect(svc.verify(forged)).rejects.toBeInstanceOf(InvalidTokenError);

    const other = await TokenService.fromJwks({ keys: [jwk] }, 'someone-else');
    const foreign = (await other.issue({ subject: 's', tokenUse: 'platform', scopes: [], ttlSeconds: 60 })).token;
    await expect(svc.verify(foreign)).rejects.toBeInstanceOf(InvalidTokenError);

    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: jwk.kid })).toString('base64url')}.${p}.`;
    await expect(svc.verify(none)).rejects.toBeInstanceOf(InvalidTokenError);

    const hs = await new SignJWT({ token_use: 'platform' })
      .setProtectedHeader({ alg: 'HS256', kid: jwk.kid })
      .setSubject('s')
      .setIssuer('atrium')
      .setAudience('atrium')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode('a-shared-secret-that-is-long-enough!'));
    await expect(svc.verify(hs)).rejects.toBeInstanceOf(InvalidTokenError);
  });
});
