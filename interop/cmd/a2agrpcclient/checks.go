package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/interop/internal/streamwatch"
)

// env is what every check gets: the client, on the transport under test.
type env struct {
	c         *client.Client
	base      string
	transport string
}

// check is one named interop check. The names match those of the a2a-go
// client's checks against our server (interop/a2ago_checks_test.go) where
// the operation is the same.
type check struct {
	name string
	run  func(ctx context.Context, e *env) error
}

// hookURL is a public-looking webhook for push configs; no event is ever
// delivered to it, because the configs are made for finished tasks.
const hookURL = "https://hooks.example.com/a2a"

var checks = []check{
	{"send returns task", func(ctx context.Context, e *env) error {
		task, err := e.send(ctx, "hello from a2agrpc", "", nil)
		if err != nil {
			return err
		}
		return completedEcho(task, "hello from a2agrpc")
	}},
	{"send returns message", func(ctx context.Context, e *env) error {
		res, err := e.c.SendMessage(ctx, &a2av1.SendMessageRequest{Message: userMessage("/message", "")})
		if err != nil {
			return err
		}
		m := res.GetMessage()
		if m == nil {
			return fmt.Errorf("reply is %v, want a message", res)
		}
		if m.GetRole() != a2av1.Role_ROLE_AGENT || text(m.GetParts()) != "/message" {
			return fmt.Errorf("reply message %v", m)
		}
		return nil
	}},
	{"send returnImmediately", func(ctx context.Context, e *env) error {
		start := time.Now()
		task, err := e.hold(ctx, "")
		if err != nil {
			return err
		}
		defer e.cancelQuietly(task.GetId())
		if d := time.Since(start); d > 10*time.Second {
			return fmt.Errorf("returned after %v", d)
		}
		return nil
	}},
	{"stream", func(ctx context.Context, e *env) error {
		var evs []*a2av1.StreamResponse
		for ev, err := range e.c.SendStreamingMessage(ctx, &a2av1.SendMessageRequest{Message: userMessage("stream me", "")}) {
			if err != nil {
				return err
			}
			evs = append(evs, ev)
		}
		return echoStream(evs, "stream me")
	}},
	{"get historyLength unset", func(ctx context.Context, e *env) error {
		return e.getHistory(ctx, nil, func(h []*a2av1.Message) error {
			if !slices.ContainsFunc(h, func(m *a2av1.Message) bool { return text(m.GetParts()) == "history" }) {
				return fmt.Errorf("history %v lacks the user message", h)
			}
			return nil
		})
	}},
	{"get historyLength 0", func(ctx context.Context, e *env) error {
		return e.getHistory(ctx, proto.Int32(0), func(h []*a2av1.Message) error {
			if len(h) != 0 {
				return fmt.Errorf("%d messages of history, want none", len(h))
			}
			return nil
		})
	}},
	{"get historyLength 1", func(ctx context.Context, e *env) error {
		return e.getHistory(ctx, proto.Int32(1), func(h []*a2av1.Message) error {
			if len(h) != 1 {
				return fmt.Errorf("%d messages of history, want 1", len(h))
			}
			return nil
		})
	}},
	{"list paging", func(ctx context.Context, e *env) error {
		ctxID, ids, err := e.context(ctx, 3)
		if err != nil {
			return err
		}
		var got []string
		pages := 0
		for page, err := range e.c.ListTaskPages(ctx, &a2av1.ListTasksRequest{ContextId: ctxID, PageSize: proto.Int32(2)}) {
			if err != nil {
				return err
			}
			pages++
			if page.GetTotalSize() != 3 || page.GetPageSize() != 2 {
				return fmt.Errorf("page %d: totalSize %d, pageSize %d; want 3, 2", pages, page.GetTotalSize(), page.GetPageSize())
			}
			for _, t := range page.GetTasks() {
				got = append(got, t.GetId())
			}
		}
		if pages != 2 {
			return fmt.Errorf("%d pages of 2 for 3 tasks", pages)
		}
		slices.Reverse(ids) // newest first
		if !slices.Equal(got, ids) {
			return fmt.Errorf("listed %v, want %v (most recently updated first)", got, ids)
		}
		return nil
	}},
	{"list without pageSize", func(ctx context.Context, e *env) error {
		ctxID, ids, err := e.context(ctx, 1)
		if err != nil {
			return err
		}
		resp, err := e.c.ListTasks(ctx, &a2av1.ListTasksRequest{ContextId: ctxID})
		if err != nil {
			return err
		}
		if resp.GetPageSize() != 50 {
			return fmt.Errorf("pageSize %d, want the default of 50", resp.GetPageSize())
		}
		return sameIDs(resp.GetTasks(), ids)
	}},
	{"list contextId filter", func(ctx context.Context, e *env) error {
		ctxID, ids, err := e.context(ctx, 2)
		if err != nil {
			return err
		}
		resp, err := e.c.ListTasks(ctx, &a2av1.ListTasksRequest{ContextId: ctxID, PageSize: proto.Int32(pageSize)})
		if err != nil {
			return err
		}
		return sameIDs(resp.GetTasks(), ids)
	}},
	{"list status filter", func(ctx context.Context, e *env) error {
		ctxID, done, err := e.context(ctx, 1)
		if err != nil {
			return err
		}
		held, err := e.hold(ctx, ctxID)
		if err != nil {
			return err
		}
		defer e.cancelQuietly(held.GetId())
		if err := e.awaitWorking(ctx, held.GetId()); err != nil {
			return err
		}
		for state, want := range map[a2av1.TaskState][]string{
			a2av1.TaskState_TASK_STATE_WORKING:   {held.GetId()},
			a2av1.TaskState_TASK_STATE_COMPLETED: done,
		} {
			resp, err := e.c.ListTasks(ctx, &a2av1.ListTasksRequest{ContextId: ctxID, PageSize: proto.Int32(pageSize), Status: state})
			if err != nil {
				return err
			}
			if err := sameIDs(resp.GetTasks(), want); err != nil {
				return fmt.Errorf("status %s: %w", state, err)
			}
		}
		return nil
	}},
	{"list statusTimestampAfter filter", func(ctx context.Context, e *env) error {
		ctxID, ids, err := e.context(ctx, 1)
		if err != nil {
			return err
		}
		for after, want := range map[time.Time][]string{
			time.Now().Add(-time.Hour): ids,
			time.Now().Add(time.Hour):  nil,
		} {
			resp, err := e.c.ListTasks(ctx, &a2av1.ListTasksRequest{ContextId: ctxID, PageSize: proto.Int32(pageSize), StatusTimestampAfter: timestamppb.New(after)})
			if err != nil {
				return err
			}
			if err := sameIDs(resp.GetTasks(), want); err != nil {
				return fmt.Errorf("after %s: %w", after.Format(time.RFC3339), err)
			}
		}
		return nil
	}},
	{"list includeArtifacts", func(ctx context.Context, e *env) error {
		ctxID, _, err := e.context(ctx, 1)
		if err != nil {
			return err
		}
		for include, want := range map[bool]int{false: 0, true: 1} {
			resp, err := e.c.ListTasks(ctx, &a2av1.ListTasksRequest{ContextId: ctxID, PageSize: proto.Int32(pageSize), IncludeArtifacts: proto.Bool(include)})
			if err != nil {
				return err
			}
			if len(resp.GetTasks()) != 1 || len(resp.GetTasks()[0].GetArtifacts()) != want {
				return fmt.Errorf("includeArtifacts %v: %v, want one task with %d artifacts", include, resp.GetTasks(), want)
			}
		}
		return nil
	}},
	{"cancel", func(ctx context.Context, e *env) error {
		held, err := e.hold(ctx, "")
		if err != nil {
			return err
		}
		canceled, err := e.c.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: held.GetId()})
		if err != nil {
			return err
		}
		if s := canceled.GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_CANCELED {
			return fmt.Errorf("cancel returned a %s task", s)
		}
		got, err := e.c.GetTask(ctx, &a2av1.GetTaskRequest{Id: held.GetId()})
		if err != nil {
			return err
		}
		if s := got.GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_CANCELED {
			return fmt.Errorf("after cancel the task is %s", s)
		}
		return nil
	}},
	{"subscribe", func(ctx context.Context, e *env) error {
		held, err := e.hold(ctx, "")
		if err != nil {
			return err
		}
		w := streamwatch.Start(e.c.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: held.GetId()}))
		select {
		case <-w.First:
		case r := <-w.Done:
			e.cancelQuietly(held.GetId())
			return fmt.Errorf("subscription ended before its first event: %v, %v", r.Events, r.Err)
		}
		if _, err := e.c.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: held.GetId()}); err != nil {
			return err
		}
		r := <-w.Done
		if r.Err != nil {
			return r.Err
		}
		if r.Events[0].GetTask().GetId() != held.GetId() {
			return fmt.Errorf("first event %v, want the task", r.Events[0])
		}
		if s := finalState(r.Events); s != a2av1.TaskState_TASK_STATE_CANCELED {
			return fmt.Errorf("subscription ended at %s, want CANCELED", s)
		}
		return nil
	}},
	{"push config create", func(ctx context.Context, e *env) error {
		_, _, err := e.pushConfig(ctx)
		return err
	}},
	{"push config get", func(ctx context.Context, e *env) error {
		task, cfg, err := e.pushConfig(ctx)
		if err != nil {
			return err
		}
		got, err := e.c.GetTaskPushNotificationConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: task, Id: cfg.GetId()})
		if err != nil {
			return err
		}
		if got.GetId() != cfg.GetId() || got.GetUrl() != hookURL || got.GetTaskId() != task {
			return fmt.Errorf("got %v, want %v", got, cfg)
		}
		return nil
	}},
	{"push config list", func(ctx context.Context, e *env) error {
		task, cfg, err := e.pushConfig(ctx)
		if err != nil {
			return err
		}
		resp, err := e.c.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: task})
		if err != nil {
			return err
		}
		if len(resp.GetConfigs()) != 1 || resp.GetConfigs()[0].GetId() != cfg.GetId() {
			return fmt.Errorf("listed %v, want only %v", resp.GetConfigs(), cfg)
		}
		return nil
	}},
	{"push config delete", func(ctx context.Context, e *env) error {
		task, cfg, err := e.pushConfig(ctx)
		if err != nil {
			return err
		}
		if err := e.c.DeleteTaskPushNotificationConfig(ctx, &a2av1.DeleteTaskPushNotificationConfigRequest{TaskId: task, Id: cfg.GetId()}); err != nil {
			return err
		}
		resp, err := e.c.ListTaskPushNotificationConfigs(ctx, &a2av1.ListTaskPushNotificationConfigsRequest{TaskId: task})
		if err != nil {
			return err
		}
		if len(resp.GetConfigs()) != 0 {
			return fmt.Errorf("after delete the task still has %v", resp.GetConfigs())
		}
		return nil
	}},
	{"extended card", func(ctx context.Context, e *env) error {
		card, err := e.c.GetExtendedAgentCard(ctx, &a2av1.GetExtendedAgentCardRequest{})
		if err != nil {
			return err
		}
		if !strings.HasSuffix(card.GetName(), "(extended)") || len(card.GetSupportedInterfaces()) != 3 {
			return fmt.Errorf("extended card %v", card)
		}
		return nil
	}},
	{"error TaskNotFound (get)", func(ctx context.Context, e *env) error {
		_, err := e.c.GetTask(ctx, &a2av1.GetTaskRequest{Id: uuid.NewString()})
		return want(err, a2agrpc.ErrTaskNotFound)
	}},
	{"error TaskNotFound (cancel)", func(ctx context.Context, e *env) error {
		_, err := e.c.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: uuid.NewString()})
		return want(err, a2agrpc.ErrTaskNotFound)
	}},
	{"error TaskNotFound (subscribe)", func(ctx context.Context, e *env) error {
		return want(streamErr(e.c.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: uuid.NewString()})), a2agrpc.ErrTaskNotFound)
	}},
	{"error TaskNotFound (push config get)", func(ctx context.Context, e *env) error {
		task, err := e.send(ctx, "no configs", "", nil)
		if err != nil {
			return err
		}
		_, err = e.c.GetTaskPushNotificationConfig(ctx, &a2av1.GetTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: uuid.NewString()})
		return want(err, a2agrpc.ErrTaskNotFound)
	}},
	{"error TaskNotCancelable", func(ctx context.Context, e *env) error {
		task, err := e.send(ctx, "done already", "", nil)
		if err != nil {
			return err
		}
		_, err = e.c.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: task.GetId()})
		return want(err, a2agrpc.ErrTaskNotCancelable)
	}},
	{"error UnsupportedOperation (send to completed task)", func(ctx context.Context, e *env) error {
		task, err := e.send(ctx, "done already", "", nil)
		if err != nil {
			return err
		}
		m := userMessage("more", task.GetContextId())
		m.TaskId = task.GetId()
		_, err = e.c.SendMessage(ctx, &a2av1.SendMessageRequest{Message: m})
		return want(err, a2agrpc.ErrUnsupportedOperation)
	}},
	{"error UnsupportedOperation (subscribe to completed task)", func(ctx context.Context, e *env) error {
		task, err := e.send(ctx, "done already", "", nil)
		if err != nil {
			return err
		}
		return want(streamErr(e.c.SubscribeToTask(ctx, &a2av1.SubscribeToTaskRequest{Id: task.GetId()})), a2agrpc.ErrUnsupportedOperation)
	}},
	{"error VersionNotSupported (get)", func(ctx context.Context, e *env) error {
		ctx = client.WithCallHeaders(ctx, map[string]string{a2agrpc.HeaderVersion: "2.0"})
		_, err := e.c.GetTask(ctx, &a2av1.GetTaskRequest{Id: uuid.NewString()})
		return want(err, a2agrpc.ErrVersionNotSupported)
	}},
	{"error VersionNotSupported (stream)", func(ctx context.Context, e *env) error {
		ctx = client.WithCallHeaders(ctx, map[string]string{a2agrpc.HeaderVersion: "2.0"})
		return want(streamErr(e.c.SendStreamingMessage(ctx, &a2av1.SendMessageRequest{Message: userMessage("v2", "")})), a2agrpc.ErrVersionNotSupported)
	}},
	{"error InvalidParams (list pageSize 101)", func(ctx context.Context, e *env) error {
		_, err := e.c.ListTasks(ctx, &a2av1.ListTasksRequest{PageSize: proto.Int32(101)})
		return want(err, a2agrpc.ErrInvalidParams)
	}},
}

// pageSize is set on the list checks other than those of paging and of
// the default page size, so that they test their filter alone.
const pageSize = 10

// userMessage is a user message with one text part, in contextID if set.
func userMessage(s, contextID string) *a2av1.Message {
	return &a2av1.Message{
		MessageId: uuid.NewString(), ContextId: contextID, Role: a2av1.Role_ROLE_USER,
		Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: s}}},
	}
}

// send sends s and returns the task it created.
func (e *env) send(ctx context.Context, s, contextID string, cfg *a2av1.SendMessageConfiguration) (*a2av1.Task, error) {
	res, err := e.c.SendMessage(ctx, &a2av1.SendMessageRequest{Message: userMessage(s, contextID), Configuration: cfg})
	if err != nil {
		return nil, err
	}
	if res.GetTask() == nil {
		return nil, fmt.Errorf("send %q: reply is %v, want a task", s, res)
	}
	return res.GetTask(), nil
}

// hold starts a task that stays WORKING until canceled, returning at once.
func (e *env) hold(ctx context.Context, contextID string) (*a2av1.Task, error) {
	task, err := e.send(ctx, "/hold", contextID, &a2av1.SendMessageConfiguration{ReturnImmediately: true})
	if err != nil {
		return nil, err
	}
	switch s := task.GetStatus().GetState(); s {
	case a2av1.TaskState_TASK_STATE_SUBMITTED, a2av1.TaskState_TASK_STATE_WORKING:
		return task, nil
	default:
		return nil, fmt.Errorf("returnImmediately send returned a %s task", s)
	}
}

// awaitWorking waits until a task returned at once is WORKING: it may
// have been returned SUBMITTED.
func (e *env) awaitWorking(ctx context.Context, id string) error {
	for {
		task, err := e.c.GetTask(ctx, &a2av1.GetTaskRequest{Id: id})
		if err != nil {
			return err
		}
		if s := task.GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_SUBMITTED {
			if s != a2av1.TaskState_TASK_STATE_WORKING {
				return fmt.Errorf("held task is %s", s)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// cancelQuietly ends a held task, on its own deadline: the check's may
// have run out.
func (e *env) cancelQuietly(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = e.c.CancelTask(ctx, &a2av1.CancelTaskRequest{Id: id})
}

// context makes n completed tasks in a new context, oldest first.
func (e *env) context(ctx context.Context, n int) (string, []string, error) {
	var ctxID string
	var ids []string
	for i := range n {
		task, err := e.send(ctx, fmt.Sprintf("task %d", i+1), ctxID, nil)
		if err != nil {
			return "", nil, err
		}
		if ctxID != "" && task.GetContextId() != ctxID {
			return "", nil, fmt.Errorf("a task in context %s was put in %s", ctxID, task.GetContextId())
		}
		ctxID = task.GetContextId()
		ids = append(ids, task.GetId())
		time.Sleep(5 * time.Millisecond) // distinct status timestamps order the list
	}
	return ctxID, ids, nil
}

// getHistory gets a new task with historyLength n and checks its history.
func (e *env) getHistory(ctx context.Context, n *int32, check func([]*a2av1.Message) error) error {
	task, err := e.send(ctx, "history", "", nil)
	if err != nil {
		return err
	}
	got, err := e.c.GetTask(ctx, &a2av1.GetTaskRequest{Id: task.GetId(), HistoryLength: n})
	if err != nil {
		return err
	}
	if got.GetId() != task.GetId() {
		return fmt.Errorf("got task %s, want %s", got.GetId(), task.GetId())
	}
	return check(got.GetHistory())
}

// pushConfig registers hookURL for a new completed task.
func (e *env) pushConfig(ctx context.Context) (string, *a2av1.TaskPushNotificationConfig, error) {
	task, err := e.send(ctx, "push", "", nil)
	if err != nil {
		return "", nil, err
	}
	cfg, err := e.c.CreateTaskPushNotificationConfig(ctx, &a2av1.TaskPushNotificationConfig{TaskId: task.GetId(), Url: hookURL})
	if err != nil {
		return "", nil, err
	}
	if cfg.GetId() == "" || cfg.GetUrl() != hookURL || cfg.GetTaskId() != task.GetId() {
		return "", nil, fmt.Errorf("created %v", cfg)
	}
	return task.GetId(), cfg, nil
}

// completedEcho checks a finished echo task.
func completedEcho(task *a2av1.Task, input string) error {
	if s := task.GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_COMPLETED {
		return fmt.Errorf("task is %s, want COMPLETED", s)
	}
	if len(task.GetArtifacts()) != 1 || text(task.GetArtifacts()[0].GetParts()) != input {
		return fmt.Errorf("artifacts %v, want one echoing %q", task.GetArtifacts(), input)
	}
	return nil
}

// echoStream checks the events of a streamed echo: the task, three chunks
// of one artifact, COMPLETED.
func echoStream(evs []*a2av1.StreamResponse, input string) error {
	if len(evs) != 5 {
		return fmt.Errorf("%d events, want 5: %v", len(evs), evs)
	}
	if evs[0].GetTask() == nil {
		return fmt.Errorf("first event %v, want the task", evs[0])
	}
	var echoed string
	for i, ev := range evs[1:4] {
		a := ev.GetArtifactUpdate()
		if a == nil || a.GetAppend() != (i > 0) || a.GetLastChunk() != (i == 2) {
			return fmt.Errorf("event %d: %v, want artifact chunk %d of 3", i+2, ev, i+1)
		}
		echoed += text(a.GetArtifact().GetParts())
	}
	if echoed != input {
		return fmt.Errorf("chunks echo %q, want %q", echoed, input)
	}
	if s := evs[4].GetStatusUpdate().GetStatus().GetState(); s != a2av1.TaskState_TASK_STATE_COMPLETED {
		return fmt.Errorf("last event %v, want COMPLETED", evs[4])
	}
	return nil
}

// finalState is the task state the last event of a stream reports.
func finalState(evs []*a2av1.StreamResponse) a2av1.TaskState {
	last := evs[len(evs)-1]
	if t := last.GetTask(); t != nil {
		return t.GetStatus().GetState()
	}
	return last.GetStatusUpdate().GetStatus().GetState()
}

// streamErr drains a stream and returns its error.
func streamErr[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return errors.New("the stream ended without an error")
}

// want checks that err is target (by reason).
func want(err error, target *a2agrpc.Error) error {
	if errors.Is(err, target) {
		return nil
	}
	return fmt.Errorf("got %v, want %s", err, target.Reason)
}

// sameIDs checks that tasks are exactly those of ids, in any order.
func sameIDs(tasks []*a2av1.Task, ids []string) error {
	var got []string
	for _, t := range tasks {
		got = append(got, t.GetId())
	}
	if !sameSet(got, ids) {
		return fmt.Errorf("listed %v, want %v", got, ids)
	}
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// text joins the text parts.
func text(parts []*a2av1.Part) string {
	var s string
	for _, p := range parts {
		s += p.GetText()
	}
	return s
}
