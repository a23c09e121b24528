/**
 * A server-side WebSocket as a byte-stream Duplex with the semantics of a TCP socket, so the RFB
 * session treats both transports alike:
 *
 * - incoming binary messages are pushed as bytes; when the reader falls behind, the WebSocket
 *   (and so its TCP socket) is paused until `_read` asks for more;
 * - a write completes when its frame has been handed to the socket, so `write()` returning false
 *   and 'drain' reflect the real connection; corked/queued writes go out as one message;
 * - the peer closing ends the readable side (after buffered data), our side ends too
 *   (`allowHalfOpen: false`) and the stream emits 'close' even when nobody reads any more;
 * - `end()` sends a normal close frame, `destroy()` drops the connection.
 *
 * ws's own `createWebSocketStream` was not used because its stream never closes when the socket
 * dies under a pending `end()` (it waits for a 'finish' a destroyed socket never emits).
 */
import { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { ErrorCode, VncError } from '../../core/errors.js';

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export class WebSocketDuplex extends Duplex {
  constructor(
    private readonly ws: WebSocket,
    onTextMessage: () => void,
  ) {
    super({ allowHalfOpen: false, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        // RFB is binary; a text frame means a peer speaking something else (old base64 websockify).
        onTextMessage();
        ws.close(1003, 'binary messages only');
        this.destroy();
        return;
      }
      if (!this.push(toBuffer(data))) ws.pause();
    });
    ws.once('error', (err) => this.destroy(err));
    ws.once('close', () => {
      if (this.destroyed) return;
      this.push(null);
      // With nothing left to read, nobody may be reading to trigger 'end'; finish now so the
      // stream still closes, like a TCP socket whose connection is gone.
      if (this.readableLength === 0) process.nextTick(() => this.destroy());
    });
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.send(Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  private send(data: Buffer, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      callback(new VncError(ErrorCode.Closed, 'the WebSocket is closed'));
      return;
    }
    this.ws.send(data, { binary: true }, (err) => callback(err ?? null));
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      if (error) this.ws.terminate();
      else this.ws.close(1000);
    }
    callback(error);
  }
}
