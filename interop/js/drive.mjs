// node drive.mjs <base-url> <JSONRPC|HTTP+JSON|GRPC>
//
// Drives an a2agrpc server (running the echo agent) with @a2a-js/sdk through
// one binding, exercising every operation the SDK's Client offers. Prints ONE
// JSON line mapping each check name to {"ok":true} or
// {"ok":false,"error":"..."}. Every check runs on its own, in its own
// try/catch and under its own deadline, so one failure never hides the
// others; the process exits 0 whenever it managed to print that line.
// interop/a2ajs_test.go holds the list of check names it expects.
import { randomUUID } from 'node:crypto';
import {
  CancelTaskRequest,
  DeleteTaskPushNotificationConfigRequest,
  GetExtendedAgentCardRequest,
  GetTaskPushNotificationConfigRequest,
  GetTaskRequest,
  ListTaskPushNotificationConfigsRequest,
  ListTasksRequest,
  SendMessageRequest,
  SubscribeToTaskRequest,
  TaskPushNotificationConfig,
  TaskState,
} from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions } from '@a2a-js/sdk/client';
import {
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';

const [base, binding] = process.argv.slice(2);
const CHECK_TIMEOUT_MS = 20_000;
const HOLD = '/hold'; // the echo agent keeps such a task WORKING until canceled
const HOOK_URL = 'https://hooks.example.com/a2a';

// ---------------------------------------------------------------- helpers

async function newClient() {
  const transports = [...ClientFactoryOptions.default.transports]; // JSON-RPC + REST
  if (binding === 'GRPC') {
    // gRPC is Node-only and opt-in; it defaults to insecure credentials.
    const { GrpcTransportFactory } = await import('@a2a-js/sdk/client/grpc');
    transports.push(new GrpcTransportFactory());
  }
  const factory = new ClientFactory(ClientFactoryOptions.createFrom(
    ClientFactoryOptions.default, { transports, preferredTransports: [binding] }));
  const client = await factory.createFromUrl(base);
  if (client.transport.protocolName !== binding) {
    throw new Error(`factory picked ${client.transport.protocolName}, not ${binding}`);
  }
  return client;
}

function fail(msg) {
  throw new Error(msg);
}

function expect(cond, msg) {
  if (!cond) fail(msg);
}

const stateName = (s) => TaskState[s] ?? String(s);

// The types are ts-proto: every field must exist and oneofs are
// {$case, value}, so requests are always built with fromJSON from
// proto-JSON (a hand-made partial object breaks gRPC serialisation).
function sendRequest(text, configuration) {
  return SendMessageRequest.fromJSON({
    message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }] },
    configuration,
  });
}

// sendMessage returns the Task or Message itself (no payload wrapper).
function asTask(result, what) {
  expect(result && 'status' in result && 'id' in result,
    `${what} returned a message, not a task: ${JSON.stringify(result).slice(0, 200)}`);
  return result;
}

// send blocks until the echo task completes and returns it.
async function sendCompleted(client, signal, text = 'hello from a2a-js') {
  const task = asTask(await client.sendMessage(sendRequest(text), { signal }), 'send');
  expect(task.status?.state === TaskState.TASK_STATE_COMPLETED,
    `send: state ${stateName(task.status?.state)}, want TASK_STATE_COMPLETED`);
  return task;
}

// sendHeld starts a task that stays WORKING and returns at once.
async function sendHeld(client, signal) {
  const result = await client.sendMessage(sendRequest(HOLD, { returnImmediately: true }), { signal });
  return asTask(result, 'send with returnImmediately');
}

const isTerminal = (s) => [TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_REJECTED].includes(s);

// cancel cancels a held task and checks the answer.
async function cancel(client, id, signal) {
  const task = await client.cancelTask(CancelTaskRequest.fromJSON({ id }), { signal });
  expect(task.id === id, `cancel returned task ${task.id}, want ${id}`);
  expect(task.status?.state === TaskState.TASK_STATE_CANCELED,
    `cancel: state ${stateName(task.status?.state)}, want TASK_STATE_CANCELED`);
  return task;
}

function describe(err) {
  const name = err?.name ?? typeof err;
  const reason = err?.reason ? ` [${err.reason}]` : '';
  return `${name}${reason}: ${err?.message ?? String(err)}`;
}

// expectError runs fn and requires it to raise an instance of cls.
async function expectError(fn, cls) {
  let result;
  try {
    result = await fn();
  } catch (err) {
    if (err instanceof cls) return;
    fail(`raised ${describe(err)}, want ${cls.name}`);
  }
  fail(`returned ${JSON.stringify(result).slice(0, 200)}, want ${cls.name}`);
}

// expectStreamError consumes a stream and requires it to raise cls. Over
// JSON-RPC the SDK wraps an error that arrives in an SSE event in a plain
// Error("SSE event contained an error…") and puts the typed error in its
// `cause` (unary calls and the other bindings throw the typed error
// itself), so the cause is accepted too.
async function expectStreamError(stream, cls) {
  const seen = [];
  try {
    for await (const ev of stream) seen.push(ev.payload?.$case);
  } catch (err) {
    if (err instanceof cls || err?.cause instanceof cls) return;
    fail(`raised ${describe(err)}${err?.cause ? ` (cause ${describe(err.cause)})` : ''}, want ${cls.name}`);
  }
  fail(`stream ended without an error after [${seen.join(' > ')}], want ${cls.name}`);
}

// ----------------------------------------------------------------- checks

// Each check gets the client and an AbortSignal that fires at its deadline.
const checks = {
  async send(client, signal) {
    const task = await sendCompleted(client, signal);
    expect(task.artifacts.length === 1, `send: ${task.artifacts.length} artifacts, want 1`);
    const text = task.artifacts[0].parts.map((p) => p.content?.value).join('');
    expect(text === 'hello from a2a-js', `send: artifact text ${JSON.stringify(text)}`);
  },

  async sendReturnImmediately(client, signal) {
    const task = await sendHeld(client, signal);
    expect(!isTerminal(task.status?.state),
      `state ${stateName(task.status?.state)}, want a non-terminal one`);
    await cancel(client, task.id, signal); // do not leave it running
  },

  async stream(client, signal) {
    const seen = [];
    let last;
    for await (const ev of client.sendMessageStream(sendRequest('stream me'), { signal })) {
      seen.push(ev.payload?.$case);
      last = ev.payload?.value;
    }
    const got = seen.join(' > ');
    expect(got === 'task > artifactUpdate > artifactUpdate > artifactUpdate > statusUpdate',
      `events ${got}`);
    expect(last.status?.state === TaskState.TASK_STATE_COMPLETED,
      `final status ${stateName(last.status?.state)}, want TASK_STATE_COMPLETED`);
  },

  async getHistory0(client, signal) {
    const sent = await sendCompleted(client, signal);
    const task = await client.getTask(GetTaskRequest.fromJSON({ id: sent.id, historyLength: 0 }), { signal });
    expect(task.id === sent.id, `got task ${task.id}, want ${sent.id}`);
    expect(task.history.length === 0, `history has ${task.history.length} messages, want 0`);
    expect(task.artifacts.length === 1, `${task.artifacts.length} artifacts, want 1`);
  },

  async getHistory1(client, signal) {
    const sent = await sendCompleted(client, signal);
    const task = await client.getTask(GetTaskRequest.fromJSON({ id: sent.id, historyLength: 1 }), { signal });
    expect(task.id === sent.id, `got task ${task.id}, want ${sent.id}`);
    expect(task.history.length === 1, `history has ${task.history.length} messages, want 1`);
  },

  async listTasksPaging(client, signal) {
    // At least two tasks exist; walk every page of one task each.
    const a = await sendCompleted(client, signal, 'list me 1');
    const b = await sendCompleted(client, signal, 'list me 2');
    const ids = new Set();
    let pageToken = '';
    let totalSize;
    for (let page = 0; ; page++) {
      expect(page < 500, 'more than 500 pages');
      const res = await client.listTasks(ListTasksRequest.fromJSON({ pageSize: 1, pageToken }), { signal });
      expect(res.tasks.length === 1 || (res.tasks.length === 0 && !res.nextPageToken),
        `page ${page} holds ${res.tasks.length} tasks, want 1`);
      totalSize ??= res.totalSize;
      for (const t of res.tasks) {
        expect(!ids.has(t.id), `task ${t.id} listed twice`);
        ids.add(t.id);
      }
      if (!res.nextPageToken) break;
      pageToken = res.nextPageToken;
    }
    expect(ids.has(a.id) && ids.has(b.id), 'a task just created is missing from the pages');
    expect(totalSize >= 2 && ids.size === totalSize, `walked ${ids.size} tasks, totalSize ${totalSize}`);
  },

  async cancel(client, signal) {
    const held = await sendHeld(client, signal);
    await cancel(client, held.id, signal);
    const task = await client.getTask(GetTaskRequest.fromJSON({ id: held.id }), { signal });
    expect(task.status?.state === TaskState.TASK_STATE_CANCELED,
      `after cancel get says ${stateName(task.status?.state)}`);
  },

  async subscribeCancel(client, signal) {
    const held = await sendHeld(client, signal);
    const seen = [];
    let last;
    const stream = client.resubscribeTask(SubscribeToTaskRequest.fromJSON({ id: held.id }), { signal });
    for await (const ev of stream) {
      seen.push(ev.payload?.$case);
      last = ev.payload?.value;
      // Cancel once the subscription is known to be live (first event).
      if (seen.length === 1) await cancel(client, held.id, signal);
    }
    expect(seen[0] === 'task', `first event ${seen[0]}, want task (events ${seen.join(' > ')})`);
    const state = last?.status?.state; // a Task and a status update both carry status
    expect(state === TaskState.TASK_STATE_CANCELED,
      `stream ended in ${stateName(state)} (events ${seen.join(' > ')}), want TASK_STATE_CANCELED`);
  },

  // The four push-config checks share one config; they run in this order.
  async pushConfigCreate(client, signal, shared) {
    const task = await sendCompleted(client, signal);
    const cfg = await client.createTaskPushNotificationConfig(
      TaskPushNotificationConfig.fromJSON({ taskId: task.id, url: HOOK_URL, token: 'secret-token' }), { signal });
    expect(cfg.id, 'created config has no id');
    expect(cfg.taskId === task.id, `created config for task ${cfg.taskId}, want ${task.id}`);
    expect(cfg.url === HOOK_URL, `created config url ${cfg.url}`);
    shared.push = { taskId: task.id, id: cfg.id };
  },

  async pushConfigGet(client, signal, shared) {
    const { taskId, id } = shared.push ?? fail('needs pushConfigCreate, which failed');
    const cfg = await client.getTaskPushNotificationConfig(
      GetTaskPushNotificationConfigRequest.fromJSON({ taskId, id }), { signal });
    expect(cfg.id === id && cfg.taskId === taskId && cfg.url === HOOK_URL,
      `got ${JSON.stringify(cfg)}`);
  },

  async pushConfigList(client, signal, shared) {
    const { taskId, id } = shared.push ?? fail('needs pushConfigCreate, which failed');
    const res = await client.listTaskPushNotificationConfig(
      ListTaskPushNotificationConfigsRequest.fromJSON({ taskId }), { signal });
    expect(res.configs.length === 1 && res.configs[0].id === id,
      `listed ${JSON.stringify(res.configs)}, want the one config ${id}`);
  },

  async pushConfigDelete(client, signal, shared) {
    const { taskId, id } = shared.push ?? fail('needs pushConfigCreate, which failed');
    await client.deleteTaskPushNotificationConfig(
      DeleteTaskPushNotificationConfigRequest.fromJSON({ taskId, id }), { signal });
    const res = await client.listTaskPushNotificationConfig(
      ListTaskPushNotificationConfigsRequest.fromJSON({ taskId }), { signal });
    expect(res.configs.length === 0, `after delete ${res.configs.length} configs remain`);
  },

  async getExtendedAgentCard(client, signal) {
    // Our echo card does not declare capabilities.extendedAgentCard, so
    // Client.getAgentCard() returns the public card without asking the
    // server; the operation itself is only reachable on the transport.
    // (client.agentCard is private in the .d.ts, a plain field at run time.)
    // Without the capability the server must answer UnsupportedOperationError
    // (capability gating of GetExtendedAgentCard; reference a2a-v1.md §9.4).
    expect(!client.agentCard.capabilities?.extendedAgentCard,
      'the card now declares extendedAgentCard: update this check');
    const card = await client.getAgentCard({ signal });
    expect(card.name === client.agentCard.name, 'getAgentCard returned another card');
    await expectError(() => client.transport.getExtendedAgentCard(
      GetExtendedAgentCardRequest.fromJSON({}),
      { signal, serviceParameters: { 'A2A-Version': client.protocolVersion } }),
    UnsupportedOperationError);
  },

  async errorTaskNotFound(client, signal) {
    await expectError(() => client.getTask(GetTaskRequest.fromJSON({ id: `no-such-task-${randomUUID()}` }), { signal }),
      TaskNotFoundError);
  },

  async errorTaskNotCancelable(client, signal) {
    const task = await sendCompleted(client, signal);
    await expectError(() => client.cancelTask(CancelTaskRequest.fromJSON({ id: task.id }), { signal }),
      TaskNotCancelableError);
  },

  async errorSubscribeNotFound(client, signal) {
    const id = `no-such-task-${randomUUID()}`;
    await expectStreamError(client.resubscribeTask(SubscribeToTaskRequest.fromJSON({ id }), { signal }),
      TaskNotFoundError);
  },

  // Subscribing to a task in a terminal state is UnsupportedOperationError.
  async errorSubscribeTerminal(client, signal) {
    const task = await sendCompleted(client, signal);
    await expectStreamError(client.resubscribeTask(SubscribeToTaskRequest.fromJSON({ id: task.id }), { signal }),
      UnsupportedOperationError);
  },
};

// ------------------------------------------------------------------- main

// runCheck runs one check under its deadline: the signal aborts the SDK call
// in flight, and the race guarantees progress even if a call ignores it.
async function runCheck(fn, client, shared) {
  const ctl = new AbortController();
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      ctl.abort();
      reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`));
    }, CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([fn(client, ctl.signal, shared), deadline]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: describe(err) };
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  const results = {};
  let client;
  try {
    client = await newClient();
  } catch (err) {
    const error = `creating the client: ${describe(err)}`;
    for (const name of Object.keys(checks)) results[name] = { ok: false, error };
  }
  if (client) {
    const shared = {};
    for (const [name, fn] of Object.entries(checks)) {
      results[name] = await runCheck(fn, client, shared);
    }
  }
  // gRPC channels keep the event loop alive; exit once the line is out.
  process.stdout.write(`${JSON.stringify(results)}\n`, () => process.exit(0));
}

await main();
