import { InvalidInputError } from '../../src/core/errors.ts';
import type { RestRequest } from '../engine/types.ts';

/** One uploaded file of a multipart/form-data body. */
export interface UploadedFile {
  filename: string;
  type: string;
  bytes: Buffer;
}

/**
 * The `file` part of a multipart/form-data request body (already size-bounded by the shim), parsed by the
 * platform's WHATWG FormData parser. A body that is not multipart, or has no file part, is a 400.
 */
export async function multipartFile(req: RestRequest, field = 'file'): Promise<UploadedFile> {
  const rawType = req.headers['content-type'];
  const type = Array.isArray(rawType) ? rawType[0] : rawType;
  if (!Buffer.isBuffer(req.body) || !type || !/^multipart\/form-data\s*;/i.test(type)) {
    throw new InvalidInputError(`send multipart/form-data with a "${field}" part`);
  }
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(req.body), { headers: { 'content-type': type } }).formData();
  } catch {
    throw new InvalidInputError('malformed multipart/form-data body');
  }
  const part = form.get(field);
  if (part === null || typeof part === 'string') throw new InvalidInputError(`the "${field}" part must be a file`);
  return {
    filename: (part.name || 'upload').slice(0, 255),
    type: part.type || 'application/octet-stream',
    bytes: Buffer.from(await part.arrayBuffer()),
  };
}
