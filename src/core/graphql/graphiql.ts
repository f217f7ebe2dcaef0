import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

/** What the page is rendered with (yoga's GraphiQL options). */
export type GraphiQLOptions = Parameters<typeof renderGraphiQL>[0];

interface Page {
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
  etag: string;
}

/**
 * GraphiQL as a static asset: rendered once (it is a 9 MB page with every asset inline), compressed once with
 * brotli and gzip, served by content negotiation with a strong ETag (304 on `If-None-Match`) and a revalidating
 * Cache-Control. Yoga would render and send it uncompressed on every request.
 */
export function graphiqlPage(options: GraphiQLOptions) {
  let page: Page | undefined;
  const build = (): Page => {
    const identity = Buffer.from(renderGraphiQL(options), 'utf8');
    return {
      identity,
      gzip: gzipSync(identity, { level: 9 }),
      br: brotliCompressSync(identity, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: identity.length },
      }),
      etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 27)}"`,
    };
  };

  /** Serves the page when the request is a browser's GET for it (Accept: text/html); false otherwise. */
  function serve(req: IncomingMessage, res: ServerResponse): boolean {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !String(req.headers.accept ?? '').includes('text/html')) {
      return false;
    }
    page ??= build();
    const common = {
      etag: page.etag,
      'cache-control': 'public, max-age=0, must-revalidate',
      vary: 'Accept, Accept-Encoding',
    };
    const match = String(req.headers['if-none-match'] ?? '')
      .split(',')
      .map((tag) => tag.trim().replace(/^W\//, ''));
    if (match.includes(page.etag) || match.includes('*')) {
      res.writeHead(304, common);
      res.end();
      return true;
    }
    const encoding = negotiate(String(req.headers['accept-encoding'] ?? ''));
    const body = encoding === 'br' ? page.br : encoding === 'gzip' ? page.gzip : page.identity;
    res.writeHead(200, {
      ...common,
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
      ...(encoding ? { 'content-encoding': encoding } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
  return { serve };
}

/** br when accepted, else gzip, else none (q=0 refuses a coding). */
function negotiate(header: string): 'br' | 'gzip' | undefined {
  const accepted = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => /^\s*q=([0-9.]+)/.exec(p)?.[1]).find((v) => v !== undefined);
    accepted.set(name, q === undefined ? 1 : Number(q));
  }
  const allows = (coding: string) => (accepted.get(coding) ?? accepted.get('*') ?? 0) > 0;
  if (allows('br')) return 'br';
  if (allows('gzip')) return 'gzip';
  return undefined;
}
