/**
 * A websocket upgrade sent by hand on a raw socket, with RFC 6455 section 1.3's example key (whose
 * accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=): the test reads the proxy's answer byte for byte and
 * keeps the socket to write frames, or to see it closed, itself.
 */
import { RawClient, type RawResponse } from './raw.js';

/** Sends the upgrade for `path` with `headers` added, and reads the answer's head and body. */
export async function rawUpgrade(port: number, path = '/ws', headers: Record<string, string> = {}): Promise<{ client: RawClient; res: RawResponse }> {
  const client = await RawClient.connect(port);
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  client.write(
    `GET ${path} HTTP/1.1\r\nHost: example.test\r\n${extra}Connection: Upgrade\r\nUpgrade: websocket\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  return { client, res: await client.readResponse() };
}
