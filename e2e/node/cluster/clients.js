// Official socket.io-client 4.8.1 clients for the cluster tests of
// adapter/redis/e2e. One process drives any number of clients, each named
// by the test (the name says which node it talks to).
//
//	node cluster/clients.js
//
// Commands (see lib.js for the framing):
//
//	connect {client, url, nsp, transports, auth, query}
//	        opens a client (forceNew, quick reconnection) and replies once it
//	        is connected: {sid, recovered}; ok:false after timeoutMs
//	emit {client, event, args, ack, timeout}
//	        emits; with ack, replies {args} of the acknowledgement
//	close {client}          socket.disconnect()
//
// Printed lines, per client: "connect" {client, sid, recovered} (every
// connection, reconnections included), "connect_error" {client, message},
// "disconnect" {client, reason}, "recv" {client, name, args, ack} for every
// event received (binary as {"$bin":hex}). An event that asks for an
// acknowledgement is answered with {client, name, args} (the arguments as
// received, Buffers included).

import { io } from "socket.io-client";
import { out, installFailHandlers, tag, untag, split, commandLoop } from "./lib.js";

installFailHandlers();

const sockets = new Map();

function get(name) {
  const s = sockets.get(name);
  if (!s) throw new Error(`no client ${name}`);
  return s;
}

const handlers = {
  connect(c) {
    if (sockets.has(c.client)) throw new Error(`client ${c.client} exists`);
    const socket = io(c.url + (c.nsp && c.nsp !== "/" ? c.nsp : ""), {
      forceNew: true,
      transports: c.transports || ["websocket"],
      auth: c.auth || {},
      query: c.query || {},
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
      randomizationFactor: 0,
      timeout: 5000,
    });
    sockets.set(c.client, socket);
    socket.on("connect", () =>
      out({ event: "connect", client: c.client, sid: socket.id, recovered: socket.recovered }),
    );
    socket.on("connect_error", (err) => out({ event: "connect_error", client: c.client, message: err.message }));
    socket.on("disconnect", (reason) => out({ event: "disconnect", client: c.client, reason }));
    socket.onAny((name, ...all) => {
      const [args, ack] = split(all);
      out({ event: "recv", client: c.client, name, args: tag(args), ack: !!ack });
      // binary arguments go back as they came (a binary acknowledgement)
      if (ack) ack({ client: c.client, name, args });
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`client ${c.client}: not connected after 10s`)), 10000);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve({ sid: socket.id, recovered: socket.recovered });
      });
    });
  },
  async emit(c) {
    const s = get(c.client);
    const args = untag(c.args || []);
    if (!c.ack) {
      s.emit(c.event, ...args);
      return {};
    }
    const res = await s.timeout(c.timeout || 5000).emitWithAck(c.event, ...args);
    return { args: tag([res]) };
  },
  async close(c) {
    get(c.client).disconnect();
  },
};

commandLoop(handlers, async () => {
  for (const s of sockets.values()) s.disconnect();
});
