// node client.mjs <agent-base-url>
//
// A Node.js client of a Go a2agrpc agent, written with the A2A project's
// JavaScript SDK (@a2a-js/sdk) and nothing from this repository: it reads
// the Agent Card, then over each binding the card offers (JSON-RPC,
// HTTP+JSON, gRPC) sends one message and streams a second, printing what
// comes back. main.go starts the agent and runs this script.
import { randomUUID } from 'node:crypto';
import { SendMessageRequest, taskStateToJSON } from '@a2a-js/sdk';
import { AgentCardResolver, ClientFactory, ClientFactoryOptions } from '@a2a-js/sdk/client';
import { GrpcTransportFactory } from '@a2a-js/sdk/client/grpc';

const base = process.argv[2];
if (!base) {
  console.error('usage: node client.mjs <agent-base-url>');
  process.exit(2);
}

// The card says where and how the agent is served.
const card = await AgentCardResolver.default.resolve(base);
const offered = card.supportedInterfaces.map((i) => `${i.protocolBinding} ${i.url}`);
console.log(`card: "${card.name}" ${card.version} offers ${offered.join(', ')}`);

// The SDK speaks JSON-RPC and HTTP+JSON out of the box; gRPC is an add-on.
const transports = [...ClientFactoryOptions.default.transports, new GrpcTransportFactory()];

for (const binding of ['JSONRPC', 'HTTP+JSON', 'GRPC']) {
  const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default,
    { transports, preferredTransports: [binding] }));
  const client = await factory.createFromAgentCard(card);
  const tag = `[${client.transport.protocolName}]`;

  const reply = await client.sendMessage(message(`hello from node over ${binding}`));
  console.log(`${tag} send: ${describeReply(reply)}`);

  const events = [];
  let streamed = '';
  for await (const ev of client.sendMessageStream(message(`streamed to node over ${binding}`))) {
    events.push(describeEvent(ev));
    if (ev.payload?.$case === 'artifactUpdate') {
      streamed += text(ev.payload.value.artifact?.parts);
    }
  }
  console.log(`${tag} stream: ${events.join(' -> ')}`);
  console.log(`${tag} streamed artifact: "${streamed}"`);
}

// message is a request carrying a user message with one text part. The
// SDK's types are generated from the A2A schema; fromJSON reads the
// schema's JSON form (enum names, oneof fields) into them.
function message(t) {
  return SendMessageRequest.fromJSON({
    message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: t }] },
  });
}

// describeReply says what a blocking send returned: a task (the echo agent
// answers with one) or a direct message.
function describeReply(reply) {
  if (reply.status) {
    const artifacts = reply.artifacts.map((a) => `"${text(a.parts)}"`).join(', ');
    return `task ${reply.id} ${state(reply.status)} with artifact ${artifacts}`;
  }
  return `message "${text(reply.parts)}"`;
}

// describeEvent names one event of a stream.
function describeEvent(ev) {
  const { $case, value } = ev.payload ?? {};
  switch ($case) {
    case 'task': return `task(${state(value.status)})`;
    case 'statusUpdate': return `status(${state(value.status)})`;
    case 'artifactUpdate': return `artifact("${text(value.artifact?.parts)}")`;
    case 'message': return `message("${text(value.parts)}")`;
    default: return `unknown(${JSON.stringify(ev)})`;
  }
}

// state is the short name of a task status's state: COMPLETED, WORKING…
function state(status) {
  return taskStateToJSON(status?.state).replace('TASK_STATE_', '');
}

// text joins the text parts of a part list.
function text(parts = []) {
  return parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
}
