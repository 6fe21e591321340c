// Command multiturn shows a conversation that spans several messages of one
// task: a booking agent asks for what it was not told (INPUT_REQUIRED), the
// client answers with a follow-up message on the same task, and the agent
// carries on — asking again when the answer does not make sense.
//
//	go run ./examples/multiturn
//
// The conversation is held once over gRPC and once over HTTP+JSON; the
// messages and the states are the same on every transport.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/host"
)

// conversation is what the user says, one message per turn: a request
// missing the party size, an answer that is not a number, then one that is.
var conversation = []string{"book a table", "lots", "4"}

// Party sizes the restaurant seats.
const minParty, maxParty = 1, 12

// question is what the agent asks when it does not know the party size.
const question = "For how many people?"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, client.TransportGRPC, client.TransportREST); err != nil {
		fmt.Fprintln(os.Stderr, "multiturn:", err)
		os.Exit(1)
	}
}

// run serves the booking agent and holds the conversation with it once over
// each of the given transports.
func run(ctx context.Context, out io.Writer, transports ...string) (err error) {
	agent, err := host.Start(booker, host.Config{Card: card()})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, shutdown(agent)) }()
	for _, t := range transports {
		c, err := client.New(ctx, agent.URL(), client.WithTransports(t))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "--- over %s\n", c.Transport())
		_, err = converse(ctx, c, out, conversation)
		c.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
	}
	return nil
}

// booker books restaurant tables. It needs the party size; when the
// caller has not given it, it pauses the task in INPUT_REQUIRED with a
// question instead of guessing, and the caller's next message on the task
// starts a new Execute with the answer.
var booker = server.ExecutorFunc(func(_ context.Context, req *server.Request, w *server.TaskWriter) error {
	n, err := partySize(req.Text())
	switch {
	case err == nil:
		msg := fmt.Sprintf("table for %d booked", n)
		if err := w.Artifact(server.TextArtifact("booking", msg)); err != nil {
			return err
		}
		return w.Complete(msg)
	case req.Task == nil && errors.Is(err, errNoNumber):
		// The opening request ("book a table") need not say how many:
		// just ask.
		return w.RequireInput(question)
	default:
		// A size we cannot seat, or an answer that does not answer the
		// question: say why, and ask again.
		return w.RequireInput(apology(err) + " " + question)
	}
})

// Why partySize refuses an answer.
var (
	errNoNumber  = errors.New("no number of people given")
	errPartySize = fmt.Errorf("a party must have %d to %d people", minParty, maxParty)
)

// partySize finds the number of people in text: its first whole number,
// which must be a party size the restaurant seats.
func partySize(text string) (int, error) {
	for _, word := range strings.Fields(text) {
		n, err := strconv.Atoi(strings.Trim(word, ".,!?"))
		if err != nil {
			continue
		}
		if n < minParty || n > maxParty {
			return 0, errPartySize
		}
		return n, nil
	}
	return 0, errNoNumber
}

// apology tells the user why their answer was not taken.
func apology(err error) string {
	if errors.Is(err, errPartySize) {
		return fmt.Sprintf("Sorry, we seat %d to %d people.", minParty, maxParty)
	}
	return "Sorry, I need a number."
}

// card describes the booking agent; host fills in the interfaces.
func card() *a2av1.AgentCard {
	return &a2av1.AgentCard{
		Name: "booker", Description: "Books restaurant tables, asking for what it needs.", Version: "1.0.0",
		Capabilities:       &a2av1.AgentCapabilities{Streaming: proto.Bool(true)},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Skills: []*a2av1.AgentSkill{{Id: "book", Name: "Book a table", Description: "Books a table for a party.",
			Tags: []string{"booking"}, Examples: []string{"book a table", "book a table for 4"}}},
	}
}

// turn is one exchange of the conversation as the client saw it.
type turn struct {
	said   string          // the user's message
	state  a2av1.TaskState // the task's state after it
	answer string          // the agent's status message
	taskID string
}

// converse sends each line as a message and prints the exchange. The first
// message starts a task; each later one continues it by naming the task
// and its context, which is what makes it a follow-up rather than a new
// request. A blocking send returns as soon as the agent asks for input, so
// each turn is one call.
func converse(ctx context.Context, c *client.Client, out io.Writer, lines []string) ([]turn, error) {
	var turns []turn
	var taskID, contextID string
	for _, line := range lines {
		msg := userMessage(line)
		msg.TaskId, msg.ContextId = taskID, contextID
		fmt.Fprintf(out, "user:  %s\n", line)
		resp, err := c.SendMessage(ctx, &a2av1.SendMessageRequest{Message: msg})
		if err != nil {
			return turns, err
		}
		task := resp.GetTask()
		if task == nil {
			return turns, fmt.Errorf("the agent answered %q without a task", line)
		}
		taskID, contextID = task.GetId(), task.GetContextId()
		t := turn{said: line, state: task.GetStatus().GetState(), answer: text(task.GetStatus().GetMessage()), taskID: taskID}
		fmt.Fprintf(out, "agent: %s [%s]\n", t.answer, strings.TrimPrefix(t.state.String(), "TASK_STATE_"))
		turns = append(turns, t)
	}
	return turns, nil
}

// userMessage is a one-part text message from the user.
func userMessage(s string) *a2av1.Message {
	return &a2av1.Message{MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER,
		Parts: []*a2av1.Part{server.TextPart(s)}}
}

// text joins the text parts of m.
func text(m *a2av1.Message) string {
	var b strings.Builder
	for _, p := range m.GetParts() {
		b.WriteString(p.GetText())
	}
	return b.String()
}

// shutdown stops the agent, giving calls in flight a few seconds.
func shutdown(agent *host.Agent) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return agent.Shutdown(ctx)
}
