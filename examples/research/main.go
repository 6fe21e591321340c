// Command research shows agents calling agents: a supervisor agent answers
// questions by delegating to a research agent over A2A, relaying the
// research agent's streamed findings to its own caller as live progress,
// and completing with a summary of them all.
//
//	go run ./examples/research [topic]
//
// Both agents and the client run in this one process, on loopback ports;
// each hop is a real A2A call (the supervisor reaches the researcher over
// the mesh stream, the client reaches the supervisor the same way).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/host"
)

// findingDelay is how long the research agent takes per finding in the
// demo: slow enough to watch the progress arrive.
const findingDelay = 400 * time.Millisecond

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	topic := "solid-state batteries"
	if len(os.Args) > 1 {
		topic = strings.Join(os.Args[1:], " ")
	}
	if err := run(ctx, os.Stdout, topic, findingDelay); err != nil {
		fmt.Fprintln(os.Stderr, "research:", err)
		os.Exit(1)
	}
}

// run starts the two agents, asks the supervisor about topic with a
// streaming send, printing its progress as it comes, and stops the agents.
func run(ctx context.Context, out io.Writer, topic string, delay time.Duration) (err error) {
	t, err := startTeam(ctx, delay)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, t.shutdown()) }()
	fmt.Fprintf(out, "research agent at %s, supervisor at %s\n", t.researcher.URL(), t.supervisor.URL())

	c, err := client.New(ctx, t.supervisor.URL())
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(out, "asking the supervisor (over %s) about %q\n", c.Transport(), topic)
	rep, err := ask(ctx, c, topic, out)
	if err != nil {
		return err
	}
	if rep.state != a2av1.TaskState_TASK_STATE_COMPLETED {
		return fmt.Errorf("the supervisor's task ended %s", rep.state)
	}
	return nil
}

// team is the two running agents and the supervisor's client of the
// research agent.
type team struct {
	researcher, supervisor *host.Agent
	research               *client.Client
}

// startTeam starts the research agent, then the supervisor with a client
// of it: the supervisor finds the researcher through its Agent Card, as it
// would across a network.
func startTeam(ctx context.Context, delay time.Duration) (_ *team, err error) {
	t := &team{}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.shutdown())
		}
	}()
	if t.researcher, err = host.Start(researcher{delay: delay}, host.Config{Card: card("research",
		"Researches a topic and streams its findings as they come.")}); err != nil {
		return nil, err
	}
	if t.research, err = client.New(ctx, t.researcher.URL()); err != nil {
		return nil, err
	}
	if t.supervisor, err = host.Start(&supervisor{research: t.research}, host.Config{Card: card("supervisor",
		"Answers questions by delegating research, reporting progress and summarizing.")}); err != nil {
		return nil, err
	}
	return t, nil
}

// shutdown stops the supervisor before the agent it calls, so that no
// supervisor task is left calling a stopped researcher.
func (t *team) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if t.supervisor != nil {
		errs = append(errs, t.supervisor.Shutdown(ctx))
	}
	if t.research != nil {
		errs = append(errs, t.research.Close())
	}
	if t.researcher != nil {
		errs = append(errs, t.researcher.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// card describes one of the agents; host fills in the interfaces.
func card(name, description string) *a2av1.AgentCard {
	return &a2av1.AgentCard{
		Name: name, Description: description, Version: "1.0.0",
		Capabilities:       &a2av1.AgentCapabilities{Streaming: proto.Bool(true)},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Skills: []*a2av1.AgentSkill{{Id: name, Name: name, Description: description,
			Tags: []string{"research"}, Examples: []string{"solid-state batteries"}}},
	}
}

// report is what a client saw of one supervisor task.
type report struct {
	progress []string        // the status messages, in order
	summary  string          // the summary artifact's text
	state    a2av1.TaskState // the last state seen
}

// ask sends topic to the supervisor with a streaming send and prints each
// event as it arrives; it returns what it saw.
func ask(ctx context.Context, c *client.Client, topic string, out io.Writer) (*report, error) {
	rep := &report{}
	req := &a2av1.SendMessageRequest{Message: userMessage(topic)}
	for ev, err := range c.SendStreamingMessage(ctx, req) {
		if err != nil {
			return rep, err
		}
		switch {
		case ev.GetTask() != nil:
			fmt.Fprintf(out, "task %s\n", ev.GetTask().GetId())
			rep.status(out, ev.GetTask().GetStatus())
		case ev.GetStatusUpdate() != nil:
			rep.status(out, ev.GetStatusUpdate().GetStatus())
		case ev.GetArtifactUpdate() != nil:
			a := ev.GetArtifactUpdate().GetArtifact()
			if a.GetArtifactId() == summaryArtifact {
				rep.summary += text(a.GetParts())
			}
			fmt.Fprintf(out, "  artifact %s:\n    %s\n", a.GetArtifactId(),
				strings.ReplaceAll(text(a.GetParts()), "\n", "\n    "))
		}
	}
	return rep, nil
}

// status records and prints a task status: its state and, if any, the
// message that explains it.
func (rep *report) status(out io.Writer, st *a2av1.TaskStatus) {
	rep.state = st.GetState()
	msg := text(st.GetMessage().GetParts())
	if msg != "" {
		rep.progress = append(rep.progress, msg)
	}
	line := fmt.Sprintf("  %-9s %s", strings.TrimPrefix(rep.state.String(), "TASK_STATE_"), msg)
	fmt.Fprintln(out, strings.TrimRight(line, " "))
}

// text joins the text of parts.
func text(parts []*a2av1.Part) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.GetText())
	}
	return b.String()
}
