// The official @socket.io/redis-emitter 5.1.0 (over node-redis 4.7.1), for
// the emitter tests of adapter/redis/e2e.
//
//	node cluster/emitter.js '{"redis":"redis://127.0.0.1:PORT"}'
//
// Prints {"event":"ready"} once connected. Commands (see lib.js), where
// nsp (default "/"), rooms and except select the sockets:
//
//	emit {nsp, rooms, except, volatile, event, args}   ({"$bin":hex} -> Buffer)
//	socketsJoin / socketsLeave {nsp, rooms, except, join}
//	disconnectSockets {nsp, rooms, except, close}
//	serverSideEmit {nsp, event, args}

import { createClient } from "redis";
import { Emitter } from "@socket.io/redis-emitter";
import { out, installFailHandlers, untag, commandLoop } from "./lib.js";

installFailHandlers();

const opts = JSON.parse(process.argv[2] || "{}");
const client = createClient({ url: opts.redis });
client.on("error", (err) => out({ event: "redis", state: "error", error: err.message }));
await client.connect();
const emitter = new Emitter(client);

function operator(c) {
  let op = emitter.of(c.nsp || "/");
  if (c.rooms && c.rooms.length) op = op.to(c.rooms);
  if (c.except && c.except.length) op = op.except(c.except);
  if (c.volatile) op = op.volatile;
  return op;
}

commandLoop(
  {
    async emit(c) {
      operator(c).emit(c.event, ...untag(c.args || []));
    },
    async socketsJoin(c) {
      operator(c).socketsJoin(c.join);
    },
    async socketsLeave(c) {
      operator(c).socketsLeave(c.join);
    },
    async disconnectSockets(c) {
      operator(c).disconnectSockets(!!c.close);
    },
    async serverSideEmit(c) {
      emitter.of(c.nsp || "/").serverSideEmit(c.event, ...untag(c.args || []));
    },
  },
  async () => {
    await client.disconnect();
  },
);
out({ event: "ready" });
