package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// callCommand parses a client command's flags (fs gets the common ones
// too), checks its arguments with check, and connects.
func callCommand(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer, check func() error) (*client.Client, *printer, error) {
	var cf clientFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, nil, errUsage
	}
	if err := check(); err != nil {
		return nil, nil, err
	}
	c, err := cf.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	return c, &printer{w: stdout, json: cf.asJSON}, nil
}

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: a2agrpc %s [flags] %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// taskCommand is callCommand for the commands that take one task id.
func taskCommand(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) (c *client.Client, p *printer, id string, err error) {
	c, p, err = callCommand(ctx, fs, args, stdout, func() (err error) {
		id, err = oneArg(fs, "task id")
		return err
	})
	return c, p, id, err
}

// oneArg is the single positional argument of get, cancel and subscribe.
func oneArg(fs *flag.FlagSet, what string) (string, error) {
	if fs.NArg() != 1 || strings.TrimSpace(fs.Arg(0)) == "" {
		fs.Usage()
		return "", usageError{fmt.Errorf("%s: expected one %s", fs.Name(), what)}
	}
	return fs.Arg(0), nil
}

// runSend sends the text of its arguments as one message.
func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("send", "TEXT...", stderr)
	stream := fs.Bool("stream", false, "stream the task's progress live (SendStreamingMessage)")
	taskID := fs.String("task", "", "continue this task (a follow-up to an INPUT_REQUIRED task)")
	contextID := fs.String("context", "", "context id of the message (default: the task's, or a new one chosen by the agent)")
	async := fs.Bool("no-wait", false, "return as soon as the agent accepted the task (returnImmediately)")
	history := fs.Int("history", -1, "messages of history to return with the task (-1: the agent's default)")
	text := ""
	c, p, err := callCommand(ctx, fs, args, stdout, func() error {
		if text = strings.Join(fs.Args(), " "); strings.TrimSpace(text) == "" {
			fs.Usage()
			return usageError{errors.New("send: no message text")}
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer c.Close()
	req := &a2av1.SendMessageRequest{
		Message: &a2av1.Message{
			MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_USER, TaskId: *taskID, ContextId: *contextID,
			Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: text}}},
		},
		Configuration: &a2av1.SendMessageConfiguration{ReturnImmediately: *async},
	}
	if *history >= 0 {
		req.Configuration.HistoryLength = proto.Int32(int32(*history))
	}
	if *stream {
		return follow(p, c.SendStreamingMessage(ctx, req))
	}
	resp, err := c.SendMessage(ctx, req)
	if err != nil {
		return err
	}
	if m := resp.GetMessage(); m != nil {
		if p.json {
			return p.proto(resp)
		}
		return p.event(&a2av1.StreamResponse{Payload: &a2av1.StreamResponse_Message{Message: m}})
	}
	if p.json {
		if err := p.proto(resp); err != nil {
			return err
		}
	} else if err := p.task(resp.GetTask()); err != nil {
		return err
	}
	return outcome(resp.GetTask())
}

// follow prints a stream to its end and returns how the task ended.
func follow(p *printer, events iter.Seq2[*a2av1.StreamResponse, error]) error {
	var id string
	var state a2av1.TaskState
	for ev, err := range events {
		if err != nil {
			p.finish()
			return err
		}
		if err := p.event(ev); err != nil {
			return err
		}
		switch {
		case ev.GetTask() != nil:
			id, state = ev.GetTask().GetId(), ev.GetTask().GetStatus().GetState()
		case ev.GetStatusUpdate() != nil:
			id, state = ev.GetStatusUpdate().GetTaskId(), ev.GetStatusUpdate().GetStatus().GetState()
		}
	}
	p.finish()
	return outcome(&a2av1.Task{Id: id, Status: &a2av1.TaskStatus{State: state}})
}

// outcome is the error (and so the exit code) of a task that ended
// unsuccessfully.
func outcome(t *a2av1.Task) error {
	switch s := t.GetStatus().GetState(); s {
	case a2av1.TaskState_TASK_STATE_FAILED, a2av1.TaskState_TASK_STATE_REJECTED, a2av1.TaskState_TASK_STATE_CANCELED:
		return taskEnded{id: t.GetId(), state: stateName(s)}
	}
	return nil
}

// runGet shows a task.
func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("get", "TASK_ID", stderr)
	history := fs.Int("history", -1, "messages of history to include (-1: the agent's default)")
	c, p, id, err := taskCommand(ctx, fs, args, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	req := &a2av1.GetTaskRequest{Id: id}
	if *history >= 0 {
		req.HistoryLength = proto.Int32(int32(*history))
	}
	t, err := c.GetTask(ctx, req)
	if err != nil {
		return err
	}
	return p.task(t)
}

// runList lists tasks, following pages with -all.
func runList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("list", "", stderr)
	contextID := fs.String("context", "", "only tasks of this context")
	state := fs.String("state", "", "only tasks in this state (working, completed, input_required, …)")
	size := fs.Int("page-size", 50, "tasks per page (1-100)")
	all := fs.Bool("all", false, "follow every page, not just the first")
	c, p, err := callCommand(ctx, fs, args, stdout, func() error { return nil })
	if err != nil {
		return err
	}
	defer c.Close()
	req := &a2av1.ListTasksRequest{ContextId: *contextID, PageSize: proto.Int32(int32(*size))}
	if *state != "" {
		v, ok := a2av1.TaskState_value["TASK_STATE_"+strings.ToUpper(*state)]
		if !ok {
			return usageError{fmt.Errorf("list: unknown state %q", *state)}
		}
		req.Status = a2av1.TaskState(v)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if !p.json {
		fmt.Fprintln(tw, "TASK\tSTATE\tCONTEXT\tUPDATED")
	}
	for page, err := range c.ListTaskPages(ctx, req) {
		if err != nil {
			return err
		}
		if p.json {
			if err := p.proto(page); err != nil {
				return err
			}
		} else {
			for _, t := range page.GetTasks() {
				updated := ""
				if ts := t.GetStatus().GetTimestamp(); ts != nil {
					updated = ts.AsTime().Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.GetId(), stateName(t.GetStatus().GetState()), t.GetContextId(), updated)
			}
		}
		if !*all {
			if !p.json && page.GetNextPageToken() != "" {
				defer fmt.Fprintf(stdout, "(%d tasks in all; -all lists every page)\n", page.GetTotalSize())
			}
			break
		}
	}
	return tw.Flush()
}

// runCancel cancels a task.
func runCancel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, p, id, err := taskCommand(ctx, newFlagSet("cancel", "TASK_ID", stderr), args, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	t, err := c.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: id})
	if err != nil {
		return err
	}
	return p.task(t)
}

// runSubscribe streams a task's updates until it ends.
func runSubscribe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, p, id, err := taskCommand(ctx, newFlagSet("subscribe", "TASK_ID", stderr), args, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	return follow(p, c.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: id}))
}
