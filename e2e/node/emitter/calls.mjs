// Makes a fixed list of @socket.io/redis-emitter calls against the Redis
// server at process.argv[2]; the Go test makes the same calls with its
// emitter and compares what both published, byte for byte.
import { createClient } from "redis";
import { Emitter } from "@socket.io/redis-emitter";

const client = createClient({ url: process.argv[2] });
await client.connect();
const io = new Emitter(client);

io.emit("hello", 1, "a", { x: 1.5, y: [true, null] }, Buffer.from([1, 2, 3]));
io.to("room1").emit("one room", -7);
io.to(["room1", "room2"]).except("room3").volatile.emit("rooms", 300, 70000);
io.of("/chat").compress(false).emit("nsp", "é");
io.of("admin").to("r").emit("no slash", 2 ** 40);
io.socketsJoin("room4");
io.in("room1").except("room2").socketsLeave(["room5", "room6"]);
io.to("room1").disconnectSockets(true);
io.disconnectSockets();
io.serverSideEmit("ping", 42, "x");

// PUBLISH is sent in order on one connection: a final PING round trip
// means every message above reached Redis.
await client.ping();
await client.quit();
console.log(JSON.stringify({ done: true }));
