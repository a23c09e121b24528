#!/usr/bin/env node
/**
 * Runs inside a scene's xterm: `node tty-relay-main.js PORT`. Connects to the scene player on
 * 127.0.0.1:PORT and prints whatever it receives, so the player decides exactly what the
 * terminal shows and when (deterministic text at a fixed rate). Keys typed into the terminal are
 * echoed by the tty itself (cooked mode) and read and discarded here, so the tty's input queue
 * never fills up. Exits when the player closes the connection.
 */
import net from 'node:net';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: tty-relay-main.js PORT\n');
  process.exit(2);
}
const socket = net.connect({ host: '127.0.0.1', port });
socket.pipe(process.stdout);
socket.on('close', () => process.exit(0));
socket.on('error', () => process.exit(1));
process.stdin.on('data', () => {});
process.stdin.on('error', () => {});
