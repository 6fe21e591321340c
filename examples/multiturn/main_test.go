package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/host"
)

var allTransports = []string{client.TransportMesh, client.TransportGRPC, client.TransportREST, client.TransportJSONRPC}

// TestRun runs the example's conversation over every transport and expects
// the same exchange on each.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, allTransports...); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	const exchange = `user:  book a table
agent: For how many people? [INPUT_REQUIRED]
user:  lots
agent: Sorry, I need a number. For how many people? [INPUT_REQUIRED]
user:  4
agent: table for 4 booked [COMPLETED]
`
	var want strings.Builder
	for _, tr := range allTransports {
		want.WriteString("--- over " + tr + "\n" + exchange)
	}
	if out.String() != want.String() {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want.String())
	}
}

// TestConversation checks the task at each step, over each transport: one
// task throughout, INPUT_REQUIRED until the answer is a number, then
// COMPLETED with the booking; the task's history holds every user message;
// and a finished booking takes no more messages.
func TestConversation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	agent := start(t)
	for _, tr := range allTransports {
		t.Run(tr, func(t *testing.T) {
			c := connect(ctx, t, agent, tr)
			turns, err := converse(ctx, c, &bytes.Buffer{}, []string{"book a table", "lots", "99", "4 please"})
			if err != nil {
				t.Fatal(err)
			}
			want := []struct {
				state  a2av1.TaskState
				answer string
			}{
				{a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, "For how many people?"},
				{a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, "Sorry, I need a number. For how many people?"},
				{a2av1.TaskState_TASK_STATE_INPUT_REQUIRED, "Sorry, we seat 1 to 12 people. For how many people?"},
				{a2av1.TaskState_TASK_STATE_COMPLETED, "table for 4 booked"},
			}
			for i, w := range want {
				if got := turns[i]; got.state != w.state || got.answer != w.answer || got.taskID != turns[0].taskID {
					t.Errorf("turn %d (%q): %s %q on task %s, want %s %q on task %s",
						i, got.said, got.state, got.answer, got.taskID, w.state, w.answer, turns[0].taskID)
				}
			}
			task, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: turns[0].taskID})
			if err != nil {
				t.Fatal(err)
			}
			if a := task.GetArtifacts(); len(a) != 1 || a[0].GetParts()[0].GetText() != "table for 4 booked" {
				t.Errorf("artifacts: %v", a)
			}
			var said []string
			for _, m := range task.GetHistory() {
				if m.GetRole() == a2av1.Role_ROLE_USER {
					said = append(said, text(m))
				}
			}
			if !slices.Equal(said, []string{"book a table", "lots", "99", "4 please"}) {
				t.Errorf("user messages in the history: %q", said)
			}
			msg := userMessage("make it 5")
			msg.TaskId = task.GetId()
			if _, err := c.SendMessage(ctx, &a2av1.SendMessageRequest{Message: msg}); !errors.Is(err, a2agrpc.ErrUnsupportedOperation) {
				t.Errorf("a message to the completed task: %v, want UNSUPPORTED_OPERATION", err)
			}
		})
	}
}

// TestOneShot shows the agent does not ask when the opening request says
// how many people come.
func TestOneShot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c := connect(ctx, t, start(t), client.TransportGRPC)
	turns, err := converse(ctx, c, &bytes.Buffer{}, []string{"book a table for 2, please"})
	if err != nil {
		t.Fatal(err)
	}
	if turns[0].state != a2av1.TaskState_TASK_STATE_COMPLETED || turns[0].answer != "table for 2 booked" {
		t.Errorf("got %s %q", turns[0].state, turns[0].answer)
	}
}

// start serves the booking agent for the test.
func start(t *testing.T) *host.Agent {
	t.Helper()
	agent, err := host.Start(booker, host.Config{Card: card()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := shutdown(agent); err != nil {
			t.Error(err)
		}
	})
	return agent
}

// connect is a client of agent restricted to one transport.
func connect(ctx context.Context, t *testing.T, agent *host.Agent, transport string) *client.Client {
	t.Helper()
	c, err := client.New(ctx, agent.URL(), client.WithTransports(transport))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
