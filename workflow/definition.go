package workflow

import (
	"time"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/registry/agentfilter"
)

// Definition is a workflow: steps that call agents, wired together by
// their dependencies and by expressions over the workflow's input and the
// outputs of earlier steps. Build one in Go or read it from YAML with
// [Parse] or [Load]; [Start] validates it before running it.
//
// A Definition is not modified by running it, and may be run any number of
// times, concurrently.
type Definition struct {
	// Name identifies the workflow in events, errors and logs. Required.
	Name string
	// Steps are the calls to make. The order is the order in which steps
	// that become ready together are started; dependencies decide the rest.
	Steps []Step
	// Output maps each output name to a template (see the package
	// documentation) evaluated once every step has completed. It may refer
	// to any step. A template that is a single expression keeps the JSON
	// type of its value.
	Output map[string]string

	// file and pos are set by Parse and Load so that validation errors
	// name the file, line and column of the offending node.
	file string
	pos  positions
}

// Step is one call to an agent: one message sent, one task followed to its
// end.
type Step struct {
	// ID names the step in expressions, dependencies, events and results.
	// Required, unique, made of letters, digits, '_' and '-', starting with
	// a letter or '_', so that ${steps.ID...} can name it.
	ID string
	// Target is the agent to call.
	Target Target
	// Input is the message sent.
	Input Input
	// DependsOn lists the steps that must complete before this one starts.
	// A step may only use the outputs of steps it depends on, directly or
	// through other steps.
	DependsOn []string
	// Timeout bounds each attempt of the step, from the send to the task's
	// final state; zero means no bound but the run's context. A timed-out
	// attempt's task is cancelled.
	Timeout time.Duration
	// Retry says whether a failed attempt is tried again.
	Retry RetryPolicy
}

// Target says which agent a step calls: exactly one of Agent and
// Capability is set.
type Target struct {
	// Capability selects an agent by what it offers, through a registry.
	// Only a [Dispatcher] that knows a registry can send to it; [Direct]
	// refuses it.
	Capability *registryv1.AgentFilter
	// Agent is an agent's base URL (its Agent Card is read from
	// <Agent>/.well-known/agent-card.json).
	Agent string
}

// String describes the target for messages: the URL, or the filter.
func (t Target) String() string {
	if t.Capability != nil {
		return "capability " + agentfilter.Describe(t.Capability)
	}
	return t.Agent
}

// Input is the message a step sends: a text part, a data part and file
// parts, in that order, each present only when configured.
type Input struct {
	// Text is a template rendered into the message's text part. Empty
	// means no text part.
	Text string
	// Data is a JSON value (maps, lists, strings, numbers, booleans, nil)
	// sent as the message's data part; each string in it is a template, and
	// a string that is a single expression is replaced by its value with
	// its JSON type. Nil means no data part.
	Data any
	// FilesFrom names steps whose file parts (raw bytes or URLs) in their
	// final artifacts are attached to the message, in order: how a
	// document produced by one agent reaches the next. Each must be a
	// (transitive) dependency.
	FilesFrom []string
}

// RetryPolicy says how often a step is attempted and how long to wait in
// between. Only retryable failures are retried (see the package
// documentation); the zero value attempts once.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt; 0 and 1 both mean no retry.
	MaxAttempts int
	// Backoff is the wait before the second attempt; it doubles before
	// each further one.
	Backoff time.Duration
}

// MaxAttemptsLimit bounds RetryPolicy.MaxAttempts: a workflow that retries
// more than this is better served by fixing the agent.
const MaxAttemptsLimit = 100

// attempts is the number of attempts the policy allows.
func (p RetryPolicy) attempts() int { return max(p.MaxAttempts, 1) }

// delay is the wait before attempt n (2 for the first retry).
func (p RetryPolicy) delay(n int) time.Duration {
	d := p.Backoff
	for i := 2; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return d
}
