// Package workflow runs multi-agent workflows: a graph of steps, each
// sending one message to an A2A agent and following the task it creates,
// wired together by dependencies and by expressions that feed one step's
// output into the next step's input.
//
//	def, err := workflow.Load("pipeline.yaml")
//	...
//	agents := workflow.Direct() // or a registry-backed router
//	defer agents.Close()
//	run, err := workflow.Start(ctx, def, map[string]any{"document": doc}, agents)
//	...
//	for ev := range run.Events() {
//		fmt.Println(ev.Step, ev.Type, ev.TaskID, ev.Err)
//	}
//	res, err := run.Wait() // err is a *StepError naming the step that failed
//	fmt.Println(res.Outputs["summary"])
//
// # The YAML format
//
// A workflow file holds one YAML document (testdata/document-pipeline.yaml
// is a complete sample):
//
//	name: document-pipeline        # required
//	steps:                         # at least one
//	  - id: extract                # required, unique: letters, digits, _ and -
//	    capability: {skill_id: extract-text}   # exactly one of capability and agent
//	    input: {text: "${input.document}"}
//	  - id: sentiment
//	    capability: {skill_id: sentiment, output_mode: text/plain}
//	    depends_on: [extract]
//	    input:
//	      text: "${steps.extract.output.text}"
//	      data: {language: en, source: "${steps.extract.task.id}"}
//	    timeout: 30s               # per attempt; Go duration syntax
//	    retry: {max_attempts: 3, backoff: 1s}
//	  - id: summarize
//	    agent: http://127.0.0.1:8080   # an agent's base URL
//	    depends_on: [extract]
//	    input: "${steps.extract.output.text}"   # short for {text: ...}
//	output:
//	  sentiment: "${steps.sentiment.output.text}"
//	  summary: "${steps.summarize.output.text}"
//
// The fields of a step:
//   - capability: a registry filter (skill_id, tag, input_mode,
//     output_mode, protocol_binding, name, include_unhealthy) that a
//     registry-backed [Dispatcher] resolves to an agent;
//   - agent: the base URL of an agent, whose Agent Card is read from
//     <agent>/.well-known/agent-card.json;
//   - input: the message sent, with a text part (text: a template), a data
//     part (data: any YAML value whose strings are templates) and the file
//     parts of the final artifacts of other steps (files_from: [step ids]),
//     in that order, each only when given;
//   - depends_on, timeout, retry: see below.
//
// Unknown fields, repeated keys, values of the wrong type, bad durations
// and YAML aliases are errors. Every error names the line, column and
// field path, e.g.
//
//	flow.yaml:12:21: steps[1].depends_on[0] (step "report"): unknown step "sumarize" (did you mean "summarize"?)
//
// # Expressions
//
// Templates are strings in which ${...} expressions are replaced by
// values. The expressions are paths, from a documented subset:
//
//	${input}                      the run's input, a JSON value
//	${input.a.b}                  a key of an object (a name: letters, digits, _ and -, starting with a letter or _)
//	${input.items[0]}             an item of a list
//	${input["odd key"]}           a key that is not a name, as a quoted JSON string
//	${steps.ID.output.text}       the text of the step's final artifacts: within an artifact
//	                              its text parts concatenated (chunks arrive that way), between
//	                              artifacts a newline; for an agent that replied with a message,
//	                              the message's text
//	${steps.ID.output.data}       the step's first data part, as JSON
//	${steps.ID.output.data.k[1]}  a path into it, as for ${input}
//	${steps.ID.task.id}           the id of the step's task ("" for a direct reply)
//	${steps.ID.status}            the step's status ("completed")
//
// A string made of exactly one expression takes the expression's value
// with its JSON type: in input data or in outputs, "${input.items}" is a
// list, not the text of one. Anywhere else the value is rendered into the
// string: strings as they are, anything else as JSON. "$${" is a literal
// "${"; any other "$" is literal too. There are no operators, functions or
// defaults: an agent is the place for logic.
//
// A step's expressions may only name steps it depends on, directly or
// transitively, and the workflow's outputs may name any step; validation
// checks this, and every other reference it can check without running.
// A path that does not exist in the actual values (a missing key, an
// index out of range, a step with no data part) fails the step when its
// input is evaluated, with an *Error naming the step and the field.
//
// # Running
//
// [Start] runs a validated [Definition] on a [Dispatcher]. Each step
// starts as soon as every step it depends on has completed, so independent
// steps run in parallel ([WithParallelism] bounds how many at once). Each
// attempt sends a new message (a fresh message id) with
// SendStreamingMessage and follows the task to its end; [Run.Events]
// reports every step's progress as it happens, and [Run.Wait] the
// [Result]: the evaluated outputs and each step's [StepResult].
//
// A step completes when its task does (or when the agent answers with a
// message instead of a task). Any other end is a failure: a task ending
// FAILED, REJECTED or CANCELED, and also INPUT_REQUIRED and AUTH_REQUIRED,
// which a workflow cannot answer (the task is then canceled, not left
// waiting), each reported as a *TaskStateError.
//
// # Retries
//
// A step is attempted up to retry.max_attempts times, waiting backoff
// before the second attempt and twice as long before each further one.
// Only failures that another attempt can fix, and that leave nothing
// running, are retried:
//   - the send failed before the agent created a task — before any event
//     named one (the agent was unreachable, overloaded, failed) — unless
//     the agent refused the request itself (invalid parameters,
//     unsupported operation or content type, missing credentials) or the
//     dispatcher marked the error [Permanent];
//   - the task ended FAILED;
//   - the attempt timed out (timeout), or its stream broke after the task
//     was created — in both cases only once the task has been canceled,
//     because an agent must never receive a second attempt while the
//     first may still be running. If the cancel cannot be confirmed, the
//     step fails instead.
//
// REJECTED and CANCELED tasks, interrupted tasks and expression errors
// are never retried. A step holds its parallelism slot while it waits to
// retry.
//
// # Failure and cancellation
//
// The first step to fail (after its retries) fails the run: [Run.Wait]
// returns a *StepError naming it. The run then stops: every running step
// is canceled — its context ends and [Dispatcher.Cancel] is called for its
// remote task, so that agents stop working for a run that is over — and
// every step not started yet is skipped. Ending the run's context does the
// same, and Wait then returns the context's error, wrapped. Stopping
// takes at most the cancel grace ([WithCancelGrace]) per step: a step
// stopped before the agent named its task keeps reading its stream for
// that long to learn the task's id, since a task it cannot name it cannot
// cancel.
package workflow
