// node smoke.mjs <base-url> <JSONRPC|HTTP+JSON|GRPC>
// Drives an a2agrpc server with @a2a-js/sdk through one binding: send,
// stream, get, a typed not-found error. Prints one JSON line of results and
// exits non-zero on any failure.
import { randomUUID } from 'node:crypto';
import { SendMessageRequest, GetTaskRequest } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions } from '@a2a-js/sdk/client';

const [base, binding] = process.argv.slice(2);
const transports = [...ClientFactoryOptions.default.transports];
if (binding === 'GRPC') {
  const { GrpcTransportFactory } = await import('@a2a-js/sdk/client/grpc');
  transports.push(new GrpcTransportFactory());
}
const factory = new ClientFactory(ClientFactoryOptions.createFrom(
  ClientFactoryOptions.default, { transports, preferredTransports: [binding] }));
const client = await factory.createFromUrl(base);

const request = (text) => SendMessageRequest.fromJSON({
  message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }] },
});
const out = {};
const reply = await client.sendMessage(request('hello from a2a-js'));
const task = reply.payload?.$case === 'task' ? reply.payload.value : reply;
out.sendState = task?.status?.state;
out.taskId = task?.id;

out.stream = [];
for await (const ev of client.sendMessageStream(request('stream me'))) {
  out.stream.push(ev.payload?.$case);
}
const got = await client.getTask(GetTaskRequest.fromJSON({ id: out.taskId, historyLength: 0 }));
out.getId = got.id;
try {
  await client.getTask(GetTaskRequest.fromJSON({ id: 'no-such-task' }));
  out.notFound = 'no error';
} catch (err) {
  out.notFound = err?.constructor?.name ?? String(err);
}
console.log(JSON.stringify(out));
