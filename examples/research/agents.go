package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// Artifact ids: the researcher's findings and the supervisor's summary.
const (
	findingsArtifact = "findings"
	summaryArtifact  = "summary"
)

// researcher is the research agent. It "researches" a topic slowly and
// streams each finding as soon as it has it, as one chunk of a single
// artifact: a caller following the task sees results arrive one by one
// instead of waiting for the whole report.
type researcher struct {
	// delay is the time each finding takes, standing in for real work.
	delay time.Duration
}

// Execute implements [server.Executor].
func (r researcher) Execute(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	topic := strings.TrimSpace(req.Text())
	if topic == "" {
		return w.Reject("send a topic to research")
	}
	if err := w.Working("researching " + topic); err != nil {
		return err
	}
	found := findings(topic)
	for i, f := range found {
		if err := sleep(ctx, r.delay); err != nil {
			return err
		}
		chunk := server.TextArtifact(findingsArtifact, fmt.Sprintf("finding %d/%d: %s", i+1, len(found), f))
		// The first chunk creates the artifact, later ones append to it,
		// and the last one says the artifact is whole.
		if err := w.ArtifactChunk(chunk, i > 0, i == len(found)-1); err != nil {
			return err
		}
	}
	return nil // completes the task
}

// findings is what the researcher finds out about topic. A real agent
// would search and read; the example makes up four plausible sentences.
func findings(topic string) []string {
	return []string{
		"the earliest work on " + topic + " goes back several decades",
		"interest in " + topic + " has grown every year since 2020",
		"the main open problems of " + topic + " are cost and scale",
		"most experts expect " + topic + " to mature within ten years",
	}
}

// sleep waits d, or less if ctx ends first (the task was cancelled or the
// server is shutting down).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// supervisor is the agent users talk to. It delegates the research to
// the research agent over A2A, relays each finding to its own caller as a
// progress update while the research runs, and finishes with a summary.
type supervisor struct {
	// research is a client of the research agent, made once and shared by
	// every task: it keeps one connection for all of them.
	research *client.Client
}

// Execute implements [server.Executor].
func (s *supervisor) Execute(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	topic := strings.TrimSpace(req.Text())
	if topic == "" {
		return w.Reject("send a topic to research")
	}
	if err := w.Working("asking the research agent about " + topic); err != nil {
		return err
	}
	found, err := s.delegate(ctx, topic, func(finding string) error {
		return w.Working("research: " + finding)
	})
	if err != nil {
		return err // fails the task, with err as the reason
	}
	return w.Artifact(server.TextArtifact(summaryArtifact, summarize(topic, found)))
}

// delegate asks the research agent about topic with a streaming send and
// calls progress with each finding as it arrives. It returns the findings
// once the research task completes, or an error if it ends any other way.
func (s *supervisor) delegate(ctx context.Context, topic string, progress func(string) error) ([]string, error) {
	var found []string
	state := a2av1.TaskState_TASK_STATE_UNSPECIFIED
	req := &a2av1.SendMessageRequest{Message: userMessage(topic)}
	for ev, err := range s.research.SendStreamingMessage(ctx, req) {
		if err != nil {
			return nil, fmt.Errorf("research agent: %w", err)
		}
		switch {
		case ev.GetTask() != nil:
			state = ev.GetTask().GetStatus().GetState()
		case ev.GetStatusUpdate() != nil:
			state = ev.GetStatusUpdate().GetStatus().GetState()
		case ev.GetArtifactUpdate() != nil:
			for _, p := range ev.GetArtifactUpdate().GetArtifact().GetParts() {
				found = append(found, p.GetText())
				if err := progress(p.GetText()); err != nil {
					return nil, err
				}
			}
		}
	}
	if state != a2av1.TaskState_TASK_STATE_COMPLETED {
		return nil, fmt.Errorf("research agent: task ended %s", state)
	}
	return found, nil
}

// summarize is the supervisor's report: every finding, one per line.
func summarize(topic string, found []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Summary of the research on %s (%d findings):", topic, len(found))
	for _, f := range found {
		b.WriteString("\n- " + f)
	}
	return b.String()
}

// userMessage is a one-part text message from the user.
func userMessage(text string) *a2av1.Message {
	return &a2av1.Message{MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER,
		Parts: []*a2av1.Part{server.TextPart(text)}}
}
