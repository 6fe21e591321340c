package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"
	"github.com/google/uuid"

	"github.com/a2agrpc/a2agrpc/interop/internal/streamwatch"
)

// goEnv is what every check of the a2a-go client gets: a client on the
// binding under test, and what is needed to make more.
type goEnv struct {
	c       *a2aclient.Client
	card    *a2a.AgentCard
	binding a2a.TransportProtocol
	iface   *a2a.AgentInterface // the card's interface of binding
}

// goCheck is one named check of the a2a-go client against our server. The
// names match those of our client's checks against a2a-go's server
// (cmd/a2agrpcclient) where the operation is the same.
type goCheck struct {
	name string
	only a2a.TransportProtocol // run on this binding only; "" for all
	run  func(ctx context.Context, e *goEnv) error
}

// hookURL is a public-looking webhook for push configs; nothing is ever
// delivered to it, because the configs are made for finished tasks.
const hookURL = "https://hooks.example.com/a2a"

// goChecks cover every A2A operation and error reason our server can be
// made to produce through the a2a-go client. Our echo agent cannot reply
// with a Message (only with tasks), so "send returns message" exists only
// against a2a-go's server.
var goChecks = []goCheck{
	{name: "send returns task", run: func(ctx context.Context, e *goEnv) error {
		task, err := e.send(ctx, "hello from a2a-go", "", nil)
		if err != nil {
			return err
		}
		return completedEcho(task, "hello from a2a-go")
	}},
	{name: "send returns message", run: func(ctx context.Context, e *goEnv) error {
		res, err := e.c.SendMessage(ctx, &a2a.SendMessageRequest{Message: userMessage("/message a direct reply", "")})
		if err != nil {
			return err
		}
		msg, ok := res.(*a2a.Message)
		if !ok {
			return fmt.Errorf("got %T, want a message", res)
		}
		if msg.Role != a2a.MessageRoleAgent || len(msg.Parts) != 1 {
			return fmt.Errorf("message %+v", msg)
		}
		if got := msg.Parts[0].Text(); got != "a direct reply" {
			return fmt.Errorf("text %q, want %q", got, "a direct reply")
		}
		return nil
	}},
	{name: "send returnImmediately", run: func(ctx context.Context, e *goEnv) error {
		start := time.Now()
		task, err := e.hold(ctx, "")
		if err != nil {
			return err
		}
		defer e.cancelQuietly(task.ID)
		if d := time.Since(start); d > 10*time.Second {
			return fmt.Errorf("returned after %v", d)
		}
		return nil
	}},
	{name: "stream", run: func(ctx context.Context, e *goEnv) error {
		evs, err := collect(e.c.SendStreamingMessage(ctx, &a2a.SendMessageRequest{Message: userMessage("stream me", "")}))
		if err != nil {
			return err
		}
		return echoStream(evs, "stream me")
	}},
	{name: "get historyLength unset", run: func(ctx context.Context, e *goEnv) error {
		return e.getHistory(ctx, nil, func(h []*a2a.Message) error {
			if !slices.ContainsFunc(h, func(m *a2a.Message) bool { return text(m.Parts) == "history" }) {
				return fmt.Errorf("history %v lacks the user message", h)
			}
			return nil
		})
	}},
	{name: "get historyLength 0", run: func(ctx context.Context, e *goEnv) error {
		return e.getHistory(ctx, ptr(0), func(h []*a2a.Message) error {
			if len(h) != 0 {
				return fmt.Errorf("%d messages of history, want none", len(h))
			}
			return nil
		})
	}},
	{name: "get historyLength 1", run: func(ctx context.Context, e *goEnv) error {
		return e.getHistory(ctx, ptr(1), func(h []*a2a.Message) error {
			if len(h) != 1 {
				return fmt.Errorf("%d messages of history, want 1", len(h))
			}
			return nil
		})
	}},
	{name: "list paging", run: func(ctx context.Context, e *goEnv) error {
		ctxID, ids, err := e.context(ctx, 3)
		if err != nil {
			return err
		}
		var got []string
		req := &a2a.ListTasksRequest{ContextID: ctxID, PageSize: 2}
		for pages := 1; ; pages++ {
			page, err := e.c.ListTasks(ctx, req)
			if err != nil {
				return err
			}
			if page.TotalSize != 3 || page.PageSize != 2 {
				return fmt.Errorf("page %d: totalSize %d, pageSize %d; want 3, 2", pages, page.TotalSize, page.PageSize)
			}
			for _, t := range page.Tasks {
				got = append(got, string(t.ID))
			}
			if page.NextPageToken == "" {
				if pages != 2 {
					return fmt.Errorf("%d pages of 2 for 3 tasks", pages)
				}
				break
			}
			if pages == 2 {
				return errors.New("a third page of 2 for 3 tasks")
			}
			req.PageToken = page.NextPageToken
		}
		slices.Reverse(ids) // newest first
		if !slices.Equal(got, ids) {
			return fmt.Errorf("listed %v, want %v (most recently updated first)", got, ids)
		}
		return nil
	}},
	{name: "list without pageSize", run: func(ctx context.Context, e *goEnv) error {
		ctxID, ids, err := e.context(ctx, 1)
		if err != nil {
			return err
		}
		resp, err := e.c.ListTasks(ctx, &a2a.ListTasksRequest{ContextID: ctxID})
		if err != nil {
			return err
		}
		if resp.PageSize != 50 {
			return fmt.Errorf("pageSize %d, want the default of 50", resp.PageSize)
		}
		return sameIDs(resp.Tasks, ids)
	}},
	{name: "list contextId filter", run: func(ctx context.Context, e *goEnv) error {
		ctxID, ids, err := e.context(ctx, 2)
		if err != nil {
			return err
		}
		resp, err := e.c.ListTasks(ctx, &a2a.ListTasksRequest{ContextID: ctxID, PageSize: pageSize})
		if err != nil {
			return err
		}
		return sameIDs(resp.Tasks, ids)
	}},
	{name: "list status filter", run: func(ctx context.Context, e *goEnv) error {
		ctxID, done, err := e.context(ctx, 1)
		if err != nil {
			return err
		}
		held, err := e.hold(ctx, ctxID)
		if err != nil {
			return err
		}
		defer e.cancelQuietly(held.ID)
		if err := e.awaitWorking(ctx, held.ID); err != nil {
			return err
		}
		for state, want := range map[a2a.TaskState][]string{
			a2a.TaskStateWorking:   {string(held.ID)},
			a2a.TaskStateCompleted: done,
		} {
			resp, err := e.c.ListTasks(ctx, &a2a.ListTasksRequest{ContextID: ctxID, PageSize: pageSize, Status: state})
			if err != nil {
				return err
			}
			if err := sameIDs(resp.Tasks, want); err != nil {
				return fmt.Errorf("status %s: %w", state, err)
			}
		}
		return nil
	}},
	{name: "list statusTimestampAfter filter", run: func(ctx context.Context, e *goEnv) error {
		ctxID, ids, err := e.context(ctx, 1)
		if err != nil {
			return err
		}
		for after, want := range map[time.Time][]string{
			time.Now().Add(-time.Hour): ids,
			time.Now().Add(time.Hour):  nil,
		} {
			resp, err := e.c.ListTasks(ctx, &a2a.ListTasksRequest{ContextID: ctxID, PageSize: pageSize, StatusTimestampAfter: &after})
			if err != nil {
				return err
			}
			if err := sameIDs(resp.Tasks, want); err != nil {
				return fmt.Errorf("after %s: %w", after.Format(time.RFC3339), err)
			}
		}
		return nil
	}},
	// a2a-go's REST client names the filter lastUpdatedAfter; the
	// specification's name is checked with a plain request.
	{name: "list statusTimestampAfter filter (raw HTTP)", only: a2a.TransportProtocolHTTPJSON, run: func(ctx context.Context, e *goEnv) error {
		ctxID, ids, err := e.context(ctx, 1)
		if err != nil {
			return err
		}
		for after, want := range map[time.Time][]string{
			time.Now().Add(-time.Hour): ids,
			time.Now().Add(time.Hour):  nil,
		} {
			q := url.Values{"contextId": {ctxID}, "statusTimestampAfter": {after.UTC().Format(time.RFC3339)}}
			var resp a2a.ListTasksResponse
			if err := getJSON(ctx, strings.TrimSuffix(e.iface.URL, "/")+"/tasks?"+q.Encode(), &resp); err != nil {
				return err
			}
			if err := sameIDs(resp.Tasks, want); err != nil {
				return fmt.Errorf("after %s: %w", after.Format(time.RFC3339), err)
			}
		}
		return nil
	}},
	{name: "list includeArtifacts", run: func(ctx context.Context, e *goEnv) error {
		ctxID, _, err := e.context(ctx, 1)
		if err != nil {
			return err
		}
		for include, want := range map[bool]int{false: 0, true: 1} {
			resp, err := e.c.ListTasks(ctx, &a2a.ListTasksRequest{ContextID: ctxID, PageSize: pageSize, IncludeArtifacts: include})
			if err != nil {
				return err
			}
			if len(resp.Tasks) != 1 || len(resp.Tasks[0].Artifacts) != want {
				return fmt.Errorf("includeArtifacts %v: %v, want one task with %d artifacts", include, resp.Tasks, want)
			}
		}
		return nil
	}},
	{name: "cancel", run: func(ctx context.Context, e *goEnv) error {
		held, err := e.hold(ctx, "")
		if err != nil {
			return err
		}
		canceled, err := e.c.CancelTask(ctx, &a2a.CancelTaskRequest{ID: held.ID})
		if err != nil {
			return err
		}
		if s := canceled.Status.State; s != a2a.TaskStateCanceled {
			return fmt.Errorf("cancel returned a %s task", s)
		}
		got, err := e.c.GetTask(ctx, &a2a.GetTaskRequest{ID: held.ID})
		if err != nil {
			return err
		}
		if s := got.Status.State; s != a2a.TaskStateCanceled {
			return fmt.Errorf("after cancel the task is %s", s)
		}
		return nil
	}},
	{name: "subscribe", run: func(ctx context.Context, e *goEnv) error {
		held, err := e.hold(ctx, "")
		if err != nil {
			return err
		}
		return e.subscribeThenCancel(ctx, held.ID, func(ctx context.Context) iter.Seq2[a2a.Event, error] {
			return e.c.SubscribeToTask(ctx, &a2a.SubscribeToTaskRequest{ID: held.ID})
		})
	}},
	// a2a-go's REST client subscribes with POST only; GET, the verb of
	// the schema's HTTP annotation, is checked with a plain request.
	{name: "subscribe GET (raw HTTP)", only: a2a.TransportProtocolHTTPJSON, run: func(ctx context.Context, e *goEnv) error {
		held, err := e.hold(ctx, "")
		if err != nil {
			return err
		}
		return e.subscribeThenCancel(ctx, held.ID, func(ctx context.Context) iter.Seq2[a2a.Event, error] {
			return getSSE(ctx, strings.TrimSuffix(e.iface.URL, "/")+"/tasks/"+string(held.ID)+":subscribe")
		})
	}},
	{name: "push config create", run: func(ctx context.Context, e *goEnv) error {
		_, _, err := e.pushConfig(ctx)
		return err
	}},
	{name: "push config get", run: func(ctx context.Context, e *goEnv) error {
		task, cfg, err := e.pushConfig(ctx)
		if err != nil {
			return err
		}
		got, err := e.c.GetTaskPushConfig(ctx, &a2a.GetTaskPushConfigRequest{TaskID: task, ID: cfg.ID})
		if err != nil {
			return err
		}
		if got.ID != cfg.ID || got.URL != hookURL || got.TaskID != task {
			return fmt.Errorf("got %+v, want %+v", got, cfg)
		}
		return nil
	}},
	{name: "push config list", run: func(ctx context.Context, e *goEnv) error {
		task, cfg, err := e.pushConfig(ctx)
		if err != nil {
			return err
		}
		all, err := e.c.ListTaskPushConfigs(ctx, &a2a.ListTaskPushConfigRequest{TaskID: task})
		if err != nil {
			return err
		}
		if len(all) != 1 || all[0].ID != cfg.ID {
			return fmt.Errorf("listed %+v, want only %+v", all, cfg)
		}
		return nil
	}},
	{name: "push config delete", run: func(ctx context.Context, e *goEnv) error {
		task, cfg, err := e.pushConfig(ctx)
		if err != nil {
			return err
		}
		if err := e.c.DeleteTaskPushConfig(ctx, &a2a.DeleteTaskPushConfigRequest{TaskID: task, ID: cfg.ID}); err != nil {
			return err
		}
		all, err := e.c.ListTaskPushConfigs(ctx, &a2a.ListTaskPushConfigRequest{TaskID: task})
		if err != nil {
			return err
		}
		if len(all) != 0 {
			return fmt.Errorf("after delete the task still has %+v", all)
		}
		return nil
	}},
	// `a2agrpc serve` does not declare capabilities.extendedAgentCard, so
	// GetExtendedAgentCard is UnsupportedOperation (spec §3.3.4). A client
	// made from the card may answer that itself; one made from the
	// endpoint alone has to ask the server.
	{name: "extended card → UnsupportedOperation (card-driven client)", run: func(ctx context.Context, e *goEnv) error {
		_, err := e.c.GetExtendedAgentCard(ctx, &a2a.GetExtendedAgentCardRequest{})
		return want(err, a2a.ErrUnsupportedOperation)
	}},
	{name: "extended card → UnsupportedOperation (endpoint client)", run: func(ctx context.Context, e *goEnv) error {
		c, err := a2aclient.NewFromEndpoints(ctx, []*a2a.AgentInterface{e.iface}, goOptions(e.binding)...)
		if err != nil {
			return err
		}
		defer c.Destroy()
		_, err = c.GetExtendedAgentCard(ctx, &a2a.GetExtendedAgentCardRequest{})
		return want(err, a2a.ErrUnsupportedOperation)
	}},
	{name: "error TaskNotFound (get)", run: func(ctx context.Context, e *goEnv) error {
		_, err := e.c.GetTask(ctx, &a2a.GetTaskRequest{ID: a2a.TaskID(uuid.NewString())})
		return want(err, a2a.ErrTaskNotFound)
	}},
	{name: "error TaskNotFound (cancel)", run: func(ctx context.Context, e *goEnv) error {
		_, err := e.c.CancelTask(ctx, &a2a.CancelTaskRequest{ID: a2a.TaskID(uuid.NewString())})
		return want(err, a2a.ErrTaskNotFound)
	}},
	{name: "error TaskNotFound (subscribe)", run: func(ctx context.Context, e *goEnv) error {
		return want(streamErr(e.c.SubscribeToTask(ctx, &a2a.SubscribeToTaskRequest{ID: a2a.TaskID(uuid.NewString())})), a2a.ErrTaskNotFound)
	}},
	{name: "error TaskNotFound (push config get)", run: func(ctx context.Context, e *goEnv) error {
		task, err := e.send(ctx, "no configs", "", nil)
		if err != nil {
			return err
		}
		_, err = e.c.GetTaskPushConfig(ctx, &a2a.GetTaskPushConfigRequest{TaskID: task.ID, ID: uuid.NewString()})
		return want(err, a2a.ErrTaskNotFound)
	}},
	{name: "error TaskNotCancelable", run: func(ctx context.Context, e *goEnv) error {
		task, err := e.send(ctx, "done already", "", nil)
		if err != nil {
			return err
		}
		_, err = e.c.CancelTask(ctx, &a2a.CancelTaskRequest{ID: task.ID})
		return want(err, a2a.ErrTaskNotCancelable)
	}},
	{name: "error UnsupportedOperation (send to completed task)", run: func(ctx context.Context, e *goEnv) error {
		task, err := e.send(ctx, "done already", "", nil)
		if err != nil {
			return err
		}
		m := userMessage("more", task.ContextID)
		m.TaskID = task.ID
		_, err = e.c.SendMessage(ctx, &a2a.SendMessageRequest{Message: m})
		return want(err, a2a.ErrUnsupportedOperation)
	}},
	{name: "error UnsupportedOperation (subscribe to completed task)", run: func(ctx context.Context, e *goEnv) error {
		task, err := e.send(ctx, "done already", "", nil)
		if err != nil {
			return err
		}
		return want(streamErr(e.c.SubscribeToTask(ctx, &a2a.SubscribeToTaskRequest{ID: task.ID})), a2a.ErrUnsupportedOperation)
	}},
	{name: "error VersionNotSupported (get)", run: func(ctx context.Context, e *goEnv) error {
		c, err := e.versionClient(ctx, "2.0")
		if err != nil {
			return err
		}
		defer c.Destroy()
		_, err = c.GetTask(ctx, &a2a.GetTaskRequest{ID: a2a.TaskID(uuid.NewString())})
		return want(err, a2a.ErrVersionNotSupported)
	}},
	{name: "error VersionNotSupported (stream)", run: func(ctx context.Context, e *goEnv) error {
		c, err := e.versionClient(ctx, "2.0")
		if err != nil {
			return err
		}
		defer c.Destroy()
		return want(streamErr(c.SendStreamingMessage(ctx, &a2a.SendMessageRequest{Message: userMessage("v2", "")})), a2a.ErrVersionNotSupported)
	}},
	{name: "error InvalidParams (list pageSize 101)", run: func(ctx context.Context, e *goEnv) error {
		_, err := e.c.ListTasks(ctx, &a2a.ListTasksRequest{PageSize: 101})
		return want(err, a2a.ErrInvalidParams)
	}},
}

// pageSize is set on the list checks other than those of paging and of
// the default page size, so that they test their filter alone.
const pageSize = 10

// userMessage is a user message with one text part, in contextID if set.
func userMessage(s, contextID string) *a2a.Message {
	m := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart(s))
	m.ContextID = contextID
	return m
}

// send sends s and returns the task it created.
func (e *goEnv) send(ctx context.Context, s, contextID string, cfg *a2a.SendMessageConfig) (*a2a.Task, error) {
	res, err := e.c.SendMessage(ctx, &a2a.SendMessageRequest{Message: userMessage(s, contextID), Config: cfg})
	if err != nil {
		return nil, err
	}
	task, ok := res.(*a2a.Task)
	if !ok {
		return nil, fmt.Errorf("send %q: reply is %#v, want a task", s, res)
	}
	return task, nil
}

// hold starts a task that stays WORKING until canceled, returning at once.
func (e *goEnv) hold(ctx context.Context, contextID string) (*a2a.Task, error) {
	task, err := e.send(ctx, "/hold", contextID, &a2a.SendMessageConfig{ReturnImmediately: true})
	if err != nil {
		return nil, err
	}
	switch s := task.Status.State; s {
	case a2a.TaskStateSubmitted, a2a.TaskStateWorking:
		return task, nil
	default:
		return nil, fmt.Errorf("returnImmediately send returned a %s task", s)
	}
}

// awaitWorking waits until a task returned at once is WORKING: it may
// have been returned SUBMITTED.
func (e *goEnv) awaitWorking(ctx context.Context, id a2a.TaskID) error {
	for {
		task, err := e.c.GetTask(ctx, &a2a.GetTaskRequest{ID: id})
		if err != nil {
			return err
		}
		if s := task.Status.State; s != a2a.TaskStateSubmitted {
			if s != a2a.TaskStateWorking {
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
func (e *goEnv) cancelQuietly(id a2a.TaskID) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = e.c.CancelTask(ctx, &a2a.CancelTaskRequest{ID: id})
}

// context makes n completed tasks in a new context, oldest first.
func (e *goEnv) context(ctx context.Context, n int) (string, []string, error) {
	var ctxID string
	var ids []string
	for i := range n {
		task, err := e.send(ctx, fmt.Sprintf("task %d", i+1), ctxID, nil)
		if err != nil {
			return "", nil, err
		}
		if ctxID != "" && task.ContextID != ctxID {
			return "", nil, fmt.Errorf("a task in context %s was put in %s", ctxID, task.ContextID)
		}
		ctxID = task.ContextID
		ids = append(ids, string(task.ID))
		time.Sleep(5 * time.Millisecond) // distinct status timestamps order the list
	}
	return ctxID, ids, nil
}

// getHistory gets a new task with historyLength n and checks its history.
func (e *goEnv) getHistory(ctx context.Context, n *int, check func([]*a2a.Message) error) error {
	task, err := e.send(ctx, "history", "", nil)
	if err != nil {
		return err
	}
	got, err := e.c.GetTask(ctx, &a2a.GetTaskRequest{ID: task.ID, HistoryLength: n})
	if err != nil {
		return err
	}
	if got.ID != task.ID {
		return fmt.Errorf("got task %s, want %s", got.ID, task.ID)
	}
	return check(got.History)
}

// pushConfig registers hookURL for a new completed task.
func (e *goEnv) pushConfig(ctx context.Context) (a2a.TaskID, *a2a.PushConfig, error) {
	task, err := e.send(ctx, "push", "", nil)
	if err != nil {
		return "", nil, err
	}
	cfg, err := e.c.CreateTaskPushConfig(ctx, &a2a.PushConfig{TaskID: task.ID, URL: hookURL})
	if err != nil {
		return "", nil, err
	}
	if cfg.ID == "" || cfg.URL != hookURL || cfg.TaskID != task.ID {
		return "", nil, fmt.Errorf("created %+v", cfg)
	}
	return task.ID, cfg, nil
}

// subscribeThenCancel subscribes to a held task, cancels it once the first
// event arrived, and checks that the subscription began with the task and
// ended with CANCELED.
func (e *goEnv) subscribeThenCancel(ctx context.Context, id a2a.TaskID, subscribe func(context.Context) iter.Seq2[a2a.Event, error]) error {
	w := streamwatch.Start(subscribe(ctx))
	select {
	case <-w.First:
	case r := <-w.Done:
		e.cancelQuietly(id)
		return fmt.Errorf("subscription ended before its first event: %v, %v", r.Events, r.Err)
	}
	if _, err := e.c.CancelTask(ctx, &a2a.CancelTaskRequest{ID: id}); err != nil {
		return err
	}
	r := <-w.Done
	if r.Err != nil {
		return r.Err
	}
	if t, ok := r.Events[0].(*a2a.Task); !ok || t.ID != id {
		return fmt.Errorf("first event %#v, want the task", r.Events[0])
	}
	if s := finalState(r.Events); s != a2a.TaskStateCanceled {
		return fmt.Errorf("subscription ended at %s, want CANCELED", s)
	}
	return nil
}

// versionClient is a client that sends A2A-Version: v instead of 1.0.
func (e *goEnv) versionClient(ctx context.Context, v string) (*a2aclient.Client, error) {
	return a2aclient.NewFromCard(ctx, e.card, goOptions(e.binding, a2aclient.WithCallInterceptors(versionOverride(v)))...)
}

// versionOverride replaces the A2A-Version service parameter a2a-go sets.
type versionOverride string

func (v versionOverride) Before(ctx context.Context, req *a2aclient.Request) (context.Context, any, error) {
	for k := range req.ServiceParams {
		if strings.EqualFold(k, a2a.SvcParamVersion) {
			delete(req.ServiceParams, k)
		}
	}
	req.ServiceParams[a2a.SvcParamVersion] = []string{string(v)}
	return ctx, nil, nil
}

func (versionOverride) After(context.Context, *a2aclient.Response) error { return nil }

// getJSON makes a plain GET request of the HTTP+JSON binding and decodes
// its 200 answer into v.
func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set(a2a.SvcParamVersion, "1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return json.Unmarshal(body, v)
}

// getSSE subscribes with a plain GET and yields the stream's events,
// decoded by a2a-go.
func getSSE(ctx context.Context, url string) iter.Seq2[a2a.Event, error] {
	return func(yield func(a2a.Event, error) bool) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			yield(nil, err)
			return
		}
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set(a2a.SvcParamVersion, "1.0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			yield(nil, err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			yield(nil, fmt.Errorf("GET %s: %s, Content-Type %q", url, resp.Status, resp.Header.Get("Content-Type")))
			return
		}
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() {
			data, ok := bytes.CutPrefix(lines.Bytes(), []byte("data:"))
			if !ok {
				continue
			}
			var sr a2a.StreamResponse
			if err := json.Unmarshal(data, &sr); err != nil {
				yield(nil, fmt.Errorf("event %s: %w", data, err))
				return
			}
			if !yield(sr.Event, nil) {
				return
			}
		}
		if err := lines.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// completedEcho checks a finished echo task.
func completedEcho(task *a2a.Task, input string) error {
	if s := task.Status.State; s != a2a.TaskStateCompleted {
		return fmt.Errorf("task is %s, want COMPLETED", s)
	}
	if len(task.Artifacts) != 1 || text(task.Artifacts[0].Parts) != input {
		return fmt.Errorf("artifacts %+v, want one echoing %q", task.Artifacts, input)
	}
	return nil
}

// echoStream checks the events of a streamed echo: the task, three chunks
// of one artifact, COMPLETED.
func echoStream(evs []a2a.Event, input string) error {
	if len(evs) != 5 {
		return fmt.Errorf("%d events, want 5: %#v", len(evs), evs)
	}
	if _, ok := evs[0].(*a2a.Task); !ok {
		return fmt.Errorf("first event %#v, want the task", evs[0])
	}
	var echoed string
	for i, ev := range evs[1:4] {
		a, ok := ev.(*a2a.TaskArtifactUpdateEvent)
		if !ok || a.Append != (i > 0) || a.LastChunk != (i == 2) {
			return fmt.Errorf("event %d: %#v, want artifact chunk %d of 3", i+2, ev, i+1)
		}
		echoed += text(a.Artifact.Parts)
	}
	if echoed != input {
		return fmt.Errorf("chunks echo %q, want %q", echoed, input)
	}
	if st, ok := evs[4].(*a2a.TaskStatusUpdateEvent); !ok || st.Status.State != a2a.TaskStateCompleted {
		return fmt.Errorf("last event %#v, want COMPLETED", evs[4])
	}
	return nil
}

// finalState is the task state the last event of a stream reports.
func finalState(evs []a2a.Event) a2a.TaskState {
	switch ev := evs[len(evs)-1].(type) {
	case *a2a.Task:
		return ev.Status.State
	case *a2a.TaskStatusUpdateEvent:
		return ev.Status.State
	}
	return a2a.TaskStateUnspecified
}

// collect drains a stream.
func collect(seq iter.Seq2[a2a.Event, error]) ([]a2a.Event, error) {
	var evs []a2a.Event
	for ev, err := range seq {
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// streamErr drains a stream and returns its error.
func streamErr(seq iter.Seq2[a2a.Event, error]) error {
	evs, err := collect(seq)
	if err == nil {
		return fmt.Errorf("the stream ended without an error after %d events", len(evs))
	}
	return err
}

// want checks that err is target.
func want(err, target error) error {
	if errors.Is(err, target) {
		return nil
	}
	return fmt.Errorf("got %v, want %v", err, target)
}

// sameIDs checks that tasks are exactly those of ids, in any order.
func sameIDs(tasks []*a2a.Task, ids []string) error {
	var got []string
	for _, t := range tasks {
		got = append(got, string(t.ID))
	}
	a, b := slices.Clone(got), slices.Clone(ids)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		return fmt.Errorf("listed %v, want %v", got, ids)
	}
	return nil
}

// text joins the text parts.
func text(parts a2a.ContentParts) string {
	var s string
	for _, p := range parts {
		s += p.Text()
	}
	return s
}

func ptr[T any](v T) *T { return &v }
