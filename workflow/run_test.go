package workflow_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/workflow"
)

// TestRun_diamond runs extract → {sentiment, summarize} → report on four
// real agents. The middle two wait for each other at a barrier, so the
// run completes only if they overlap; the outputs carry text, data and
// task ids across the steps.
func TestRun_diamond(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	middle := newBarrier(2)
	extract := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		if err := w.Working("extracting"); err != nil {
			return err
		}
		text := strings.ToUpper(req.Text())
		// Two chunks: the output joins them.
		if err := w.ArtifactChunk(server.TextArtifact("text", text[:4]), false, false); err != nil {
			return err
		}
		if err := w.ArtifactChunk(server.TextArtifact("text", text[4:]), true, true); err != nil {
			return err
		}
		meta, err := server.DataPart(map[string]any{"words": len(strings.Fields(text)), "lang": dataOf(req).(map[string]any)["lang"]})
		if err != nil {
			return err
		}
		return w.Artifact(&a2av1.Artifact{ArtifactId: "meta", Parts: []*a2av1.Part{meta}})
	})
	sentiment := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		if err := w.Working("judging"); err != nil {
			return err
		}
		if err := middle.wait(ctx); err != nil {
			return err
		}
		return textArtifact(w, "positive about: "+req.Text())
	})
	summarize := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		if err := w.Working("summarizing"); err != nil {
			return err
		}
		if err := middle.wait(ctx); err != nil {
			return err
		}
		return textArtifact(w, "summary of "+req.Text())
	})
	report := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		part, err := server.DataPart(map[string]any{"received": dataOf(req)})
		if err != nil {
			return err
		}
		return w.Artifact(&a2av1.Artifact{ArtifactId: "report", Parts: []*a2av1.Part{part}})
	})
	def := &workflow.Definition{
		Name: "diamond",
		Steps: []workflow.Step{
			{ID: "extract", Target: workflow.Target{Agent: extract.URL()},
				Input: workflow.Input{Text: "${input.document}", Data: map[string]any{"lang": "${input.lang}"}}},
			{ID: "sentiment", Target: workflow.Target{Agent: sentiment.URL()}, DependsOn: []string{"extract"},
				Input: workflow.Input{Text: "${steps.extract.output.text}"}},
			{ID: "summarize", Target: workflow.Target{Agent: summarize.URL()}, DependsOn: []string{"extract"},
				Input: workflow.Input{Text: "${steps.extract.output.text} (${steps.extract.output.data.words} words)"}},
			{ID: "report", Target: workflow.Target{Agent: report.URL()}, DependsOn: []string{"sentiment", "summarize"},
				Input: workflow.Input{Data: map[string]any{
					"sentiment": "${steps.sentiment.output.text}",
					"meta":      "${steps.extract.output.data}",
					"tasks":     []any{"${steps.extract.task.id}", "${steps.summarize.status}"},
				}}},
		},
		Output: map[string]string{
			"sentiment": "${steps.sentiment.output.text}",
			"summary":   "${steps.summarize.output.text}",
			"report":    "${steps.report.output.data.received}",
			"line":      "${steps.report.output.data.received.meta.words} words, task ${steps.report.task.id}",
		},
	}
	o := execute(t, ctx, def, map[string]any{"document": "hello big world", "lang": "en"}, direct(t))
	if o.err != nil {
		t.Fatalf("run failed:\n%s", o)
	}
	res := o.res
	extractTask := res.Steps["extract"].TaskID
	want := map[string]any{
		"sentiment": "positive about: HELLO BIG WORLD",
		"summary":   "summary of HELLO BIG WORLD (3 words)",
		"report": map[string]any{
			"sentiment": "positive about: HELLO BIG WORLD",
			"meta":      map[string]any{"words": 3.0, "lang": "en"},
			"tasks":     []any{extractTask, "completed"},
		},
		"line": "3 words, task " + res.Steps["report"].TaskID,
	}
	if !reflect.DeepEqual(res.Outputs, want) {
		t.Errorf("outputs:\n got %#v\nwant %#v", res.Outputs, want)
	}
	for id, s := range res.Steps {
		if s.Status != workflow.StatusCompleted || s.Attempts != 1 || s.TaskID == "" {
			t.Errorf("step %s: %+v", id, s)
		}
	}
	// The middle steps overlapped: the barrier let neither agent finish
	// before the other had started, and the engine had started both
	// before either completed.
	lastStart, firstEnd := -1, len(o.events)
	for _, id := range []string{"sentiment", "summarize"} {
		_, started := o.find(id, workflow.EventRunning)
		_, ended := o.find(id, workflow.EventCompleted)
		lastStart, firstEnd = max(lastStart, started), min(firstEnd, ended)
	}
	if lastStart < 0 || lastStart > firstEnd {
		t.Errorf("sentiment and summarize did not overlap:\n%s", o)
	}
	// Each step went pending → running → … → completed, and report only
	// started after both its dependencies completed.
	_, reportStart := o.find("report", workflow.EventRunning)
	if _, i := o.find("sentiment", workflow.EventCompleted); i > reportStart {
		t.Errorf("report started before sentiment completed:\n%s", o)
	}
	if e, _ := o.find("extract", workflow.EventProgress); e.Update == nil || e.TaskID != extractTask {
		t.Errorf("no progress event with the update for extract:\n%s", o)
	}
}

// TestRun_failureStopsTheRun: a step's task fails; the run fails naming
// it, the step running beside it is canceled on its agent, and the step
// depending on both is skipped.
func TestRun_failureStopsTheRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	hold := newHolder()
	holding := agent(t, hold.exec)
	failing := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		if err := w.Working("working"); err != nil {
			return err
		}
		select { // fail only once the other step is surely running
		case id := <-hold.started:
			hold.started <- id
		case <-ctx.Done():
		}
		return w.Fail("the model is on fire")
	})
	def := &workflow.Definition{Name: "failing", Steps: []workflow.Step{
		{ID: "slow", Target: workflow.Target{Agent: holding.URL()}, Input: workflow.Input{Text: "hold"}},
		{ID: "broken", Target: workflow.Target{Agent: failing.URL()}, Input: workflow.Input{Text: "go"}},
		{ID: "after", Target: workflow.Target{Agent: failing.URL()}, DependsOn: []string{"slow", "broken"}, Input: workflow.Input{Text: "x"}},
	}}
	o := execute(t, ctx, def, nil, direct(t))
	var se *workflow.StepError
	if !errors.As(o.err, &se) || se.Step != "broken" {
		t.Fatalf("error %v, want a *StepError for step broken\n%s", o.err, o)
	}
	var tse *workflow.TaskStateError
	if !errors.As(o.err, &tse) || tse.State != a2av1.TaskState_TASK_STATE_FAILED || tse.Message != "the model is on fire" {
		t.Errorf("error %v, want the FAILED task and its reason", o.err)
	}
	if !strings.Contains(o.err.Error(), `step "broken": task `) {
		t.Errorf("error message %q", o.err)
	}
	steps := o.res.Steps
	if steps["broken"].Status != workflow.StatusFailed || steps["slow"].Status != workflow.StatusCanceled || steps["after"].Status != workflow.StatusSkipped {
		t.Errorf("statuses: broken %s, slow %s, after %s", steps["broken"].Status, steps["slow"].Status, steps["after"].Status)
	}
	if o.res.Outputs != nil {
		t.Errorf("outputs of a failed run: %v", o.res.Outputs)
	}
	hold.sawCancel(t)
	if s := taskState(t, holding, steps["slow"].TaskID); s != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Errorf("the slow step's task is %s on its agent, want CANCELED", s)
	}
	if e, _ := o.find("slow", workflow.EventCanceled); e.Err == nil || !strings.Contains(e.Err.Error(), `step "broken" failed`) {
		t.Errorf("canceled event %+v does not say why", e)
	}
	if _, i := o.find("after", workflow.EventSkipped); i < 0 {
		t.Errorf("no skipped event for after:\n%s", o)
	}
}

// TestRun_timeout: an attempt that outlives its timeout fails the step,
// and its task is canceled on the agent.
func TestRun_timeout(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	hold := newHolder()
	a := agent(t, hold.exec)
	def := &workflow.Definition{Name: "slow", Steps: []workflow.Step{
		{ID: "wait", Target: workflow.Target{Agent: a.URL()}, Input: workflow.Input{Text: "x"}, Timeout: 300 * time.Millisecond},
	}}
	start := time.Now()
	o := execute(t, ctx, def, nil, direct(t))
	var se *workflow.StepError
	if !errors.As(o.err, &se) || se.Step != "wait" || !errors.Is(o.err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want step wait timed out\n%s", o.err, o)
	}
	if !strings.Contains(o.err.Error(), "timed out after 300ms") {
		t.Errorf("error %q does not say it timed out", o.err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("failed after %v, before the timeout", d)
	}
	hold.sawCancel(t)
	if s := taskState(t, a, o.res.Steps["wait"].TaskID); s != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Errorf("the task is %s on its agent, want CANCELED", s)
	}
}

// TestRun_retry: retryable failures are tried again after the backoff;
// the others are not.
func TestRun_retry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		first     func(w *server.TaskWriter) error // the first attempt's behaviour
		attempts  int                              // attempts made
		completes bool
	}{
		{"task_failed", func(w *server.TaskWriter) error { return errors.New("transient") }, 2, true},
		{"send_failed_before_task", func(*server.TaskWriter) error {
			return a2agrpc.NewError(a2agrpc.ReasonUnavailable, "warming up")
		}, 2, true},
		{"rejected_is_final", func(w *server.TaskWriter) error { return w.Reject("not my job") }, 1, false},
		{"invalid_request_is_final", func(*server.TaskWriter) error {
			return a2agrpc.InvalidParams("message.parts", "no")
		}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			var calls atomic.Int32
			a := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
				if calls.Add(1) == 1 {
					return tt.first(w)
				}
				return textArtifact(w, "ok on attempt 2")
			})
			def := &workflow.Definition{Name: "retry", Steps: []workflow.Step{
				{ID: "flaky", Target: workflow.Target{Agent: a.URL()}, Input: workflow.Input{Text: "x"},
					Retry: workflow.RetryPolicy{MaxAttempts: 3, Backoff: 50 * time.Millisecond}},
			}, Output: map[string]string{"out": "${steps.flaky.output.text}"}}
			o := execute(t, ctx, def, nil, direct(t))
			if got := o.res.Steps["flaky"].Attempts; got != tt.attempts || int(calls.Load()) != tt.attempts {
				t.Errorf("attempts %d (agent called %d times), want %d\n%s", got, calls.Load(), tt.attempts, o)
			}
			if !tt.completes {
				if o.err == nil {
					t.Fatalf("the run completed\n%s", o)
				}
				return
			}
			if o.err != nil || o.res.Outputs["out"] != "ok on attempt 2" {
				t.Fatalf("run: %v, outputs %v\n%s", o.err, o.res.Outputs, o)
			}
			e, i := o.find("flaky", workflow.EventRetrying)
			if i < 0 || e.Attempt != 2 || e.Backoff != 50*time.Millisecond || e.Err == nil {
				t.Errorf("retrying event %+v\n%s", e, o)
			}
		})
	}
}

// TestRun_retryAfterTimeout: a timed-out attempt is retried only after its
// task was canceled: the agent never runs two attempts at once.
func TestRun_retryAfterTimeout(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var running, calls atomic.Int32
	overlap := make(chan struct{}, 1)
	a := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		defer running.Add(-1)
		if running.Add(1) > 1 {
			overlap <- struct{}{}
		}
		if err := w.Working(""); err != nil {
			return err
		}
		if calls.Add(1) == 1 {
			<-ctx.Done() // the first attempt hangs until canceled
			return context.Cause(ctx)
		}
		return textArtifact(w, "second")
	})
	def := &workflow.Definition{Name: "retry-timeout", Steps: []workflow.Step{
		{ID: "s", Target: workflow.Target{Agent: a.URL()}, Input: workflow.Input{Text: "x"},
			Timeout: 200 * time.Millisecond, Retry: workflow.RetryPolicy{MaxAttempts: 2}},
	}}
	o := execute(t, ctx, def, nil, direct(t))
	if o.err != nil || o.res.Steps["s"].Attempts != 2 || o.res.Steps["s"].Text != "second" {
		t.Fatalf("run: %v\n%s", o.err, o)
	}
	select {
	case <-overlap:
		t.Error("the second attempt started while the first was still running")
	default:
	}
}

// TestRun_contextCanceled: ending the run's context cancels the running
// step's remote task and skips the rest.
func TestRun_contextCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	hold := newHolder()
	a := agent(t, hold.exec)
	def := &workflow.Definition{Name: "canceled", Steps: []workflow.Step{
		{ID: "first", Target: workflow.Target{Agent: a.URL()}, Input: workflow.Input{Text: "x"}},
		{ID: "second", Target: workflow.Target{Agent: a.URL()}, Input: workflow.Input{Text: "x"}, DependsOn: []string{"first"}},
	}}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	r, err := workflow.Start(runCtx, def, nil, direct(t))
	if err != nil {
		t.Fatal(err)
	}
	var events []workflow.Event
	for ev := range r.Events() {
		events = append(events, ev)
		if ev.Type == workflow.EventRunning && ev.TaskID != "" {
			stop() // like Ctrl-C while the task runs
		}
	}
	res, err := r.Wait()
	o := outcome{events, res, err}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `workflow "canceled"`) {
		t.Fatalf("error %v, want the run canceled\n%s", err, o)
	}
	if res.Steps["first"].Status != workflow.StatusCanceled || res.Steps["second"].Status != workflow.StatusSkipped {
		t.Errorf("statuses: %+v", res.Steps)
	}
	hold.sawCancel(t)
	if s := taskState(t, a, res.Steps["first"].TaskID); s != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Errorf("the task is %s on its agent, want CANCELED", s)
	}
}

// TestRun_inputRequired: a task asking for input fails the step (nobody
// can answer) and is canceled rather than left waiting.
func TestRun_inputRequired(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	a := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		return w.RequireInput("which language?")
	})
	def := &workflow.Definition{Name: "asks", Steps: []workflow.Step{
		{ID: "ask", Target: workflow.Target{Agent: a.URL()}, Input: workflow.Input{Text: "x"},
			Retry: workflow.RetryPolicy{MaxAttempts: 3}},
	}}
	o := execute(t, ctx, def, nil, direct(t))
	var tse *workflow.TaskStateError
	if !errors.As(o.err, &tse) || tse.State != a2av1.TaskState_TASK_STATE_INPUT_REQUIRED || tse.Message != "which language?" {
		t.Fatalf("error %v\n%s", o.err, o)
	}
	if !strings.Contains(o.err.Error(), "cannot answer") || o.res.Steps["ask"].Attempts != 1 {
		t.Errorf("error %q after %d attempts", o.err, o.res.Steps["ask"].Attempts)
	}
	if s := taskState(t, a, tse.TaskID); s != a2av1.TaskState_TASK_STATE_CANCELED {
		t.Errorf("the task is %s on its agent, want CANCELED", s)
	}
}

// TestRun_parallelism: with a bound of one, independent steps run one at
// a time, in definition order.
func TestRun_parallelism(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var running, most atomic.Int32
	var mu sync.Mutex
	var order []string
	a := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		mu.Lock()
		order = append(order, req.Text())
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		return textArtifact(w, req.Text())
	})
	def := &workflow.Definition{Name: "serial"}
	for _, id := range []string{"a", "b", "c"} {
		def.Steps = append(def.Steps, workflow.Step{ID: id, Target: workflow.Target{Agent: a.URL()}, Input: workflow.Input{Text: id}})
	}
	o := execute(t, ctx, def, nil, direct(t), workflow.WithParallelism(1))
	if o.err != nil {
		t.Fatal(o.err)
	}
	if most.Load() != 1 || strings.Join(order, "") != "abc" {
		t.Errorf("at most %d at once, order %v", most.Load(), order)
	}
}

// TestRun_directReplyAndFiles: an agent answering with a message completes
// its step (output from the message); file parts pass on with files_from.
func TestRun_directReplyAndFiles(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	producer := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		return w.Artifact(&a2av1.Artifact{ArtifactId: "doc", Parts: []*a2av1.Part{
			{Content: &a2av1.Part_Raw{Raw: []byte("%PDF-1.7")}, Filename: "doc.pdf", MediaType: "application/pdf"},
			{Content: &a2av1.Part_Text{Text: "made a pdf"}},
		}})
	})
	replier := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		var files []string
		for _, p := range req.Message.GetParts() {
			if raw := p.GetRaw(); raw != nil {
				files = append(files, p.GetFilename()+"="+string(raw))
			}
		}
		return w.Reply(server.TextPart(req.Text() + " with " + strings.Join(files, ",")))
	})
	def := &workflow.Definition{Name: "files", Steps: []workflow.Step{
		{ID: "make", Target: workflow.Target{Agent: producer.URL()}, Input: workflow.Input{Text: "x"}},
		{ID: "read", Target: workflow.Target{Agent: replier.URL()}, DependsOn: []string{"make"},
			Input: workflow.Input{Text: "${steps.make.output.text}", FilesFrom: []string{"make"}}},
	}, Output: map[string]string{"reply": "${steps.read.output.text}", "task": "${steps.read.task.id}"}}
	o := execute(t, ctx, def, nil, direct(t))
	if o.err != nil {
		t.Fatalf("%v\n%s", o.err, o)
	}
	if o.res.Outputs["reply"] != "made a pdf with doc.pdf=%PDF-1.7" || o.res.Outputs["task"] != "" {
		t.Errorf("outputs %v", o.res.Outputs)
	}
}

// TestRun_expressionError: a path missing from the actual input fails the
// step before anything is sent, naming the step and the field.
func TestRun_expressionError(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var called atomic.Bool
	a := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		called.Store(true)
		return nil
	})
	def, err := workflow.Parse([]byte("name: e\nsteps:\n  - id: s\n    agent: " + a.URL() + "\n    input: {text: \"${input.doc}\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := execute(t, ctx, def, map[string]any{"document": "x"}, direct(t))
	var we *workflow.Error
	if !errors.As(o.err, &we) || we.Step != "s" || we.Field != "steps[0].input.text" || we.Line != 5 {
		t.Fatalf("error %v (%+v)", o.err, we)
	}
	if !strings.Contains(o.err.Error(), `input has no key "doc" (keys: document)`) || called.Load() {
		t.Errorf("error %q, agent called: %v", o.err, called.Load())
	}
}

// TestDirect_refusesCapabilities: Direct cannot resolve a capability; the
// step fails at once, without retries, saying so.
func TestDirect_refusesCapabilities(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	def := &workflow.Definition{Name: "cap", Steps: []workflow.Step{
		{ID: "s", Target: workflow.Target{Capability: &registryv1.AgentFilter{SkillId: "sentiment"}},
			Input: workflow.Input{Text: "x"}, Retry: workflow.RetryPolicy{MaxAttempts: 5, Backoff: time.Hour}},
	}}
	o := execute(t, ctx, def, nil, direct(t))
	if !errors.Is(o.err, workflow.ErrCapabilityTarget) || !workflow.IsPermanent(o.err) || o.res.Steps["s"].Attempts != 1 {
		t.Fatalf("error %v\n%s", o.err, o)
	}
	if !strings.Contains(o.err.Error(), "capability skill_id=sentiment") {
		t.Errorf("error %q does not name the capability", o.err)
	}
}

// TestByTarget routes each kind of target to its dispatcher.
func TestByTarget(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	a := agent(t, func(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
		return textArtifact(w, "via "+req.Text())
	})
	d := direct(t)
	def := &workflow.Definition{Name: "mixed", Steps: []workflow.Step{
		{ID: "url", Target: workflow.Target{Agent: a.URL()}, Input: workflow.Input{Text: "url"}},
		{ID: "cap", Target: workflow.Target{Capability: &registryv1.AgentFilter{Tag: "t"}}, Input: workflow.Input{Text: "cap"}},
	}}
	// A stand-in router that sends every capability to the one agent.
	router := routeAll{d, a.URL()}
	o := execute(t, ctx, def, nil, workflow.ByTarget(d, router))
	if o.err != nil || o.res.Steps["cap"].Text != "via cap" || o.res.Steps["url"].Text != "via url" {
		t.Fatalf("%v %+v\n%s", o.err, o.res.Steps, o)
	}
	o = execute(t, ctx, def, nil, workflow.ByTarget(d, nil))
	if !workflow.IsPermanent(o.err) || !strings.Contains(o.err.Error(), "no dispatcher for capability targets") {
		t.Errorf("without a router: %v", o.err)
	}
}

type routeAll struct {
	d   workflow.Dispatcher
	url string
}

func (r routeAll) Send(ctx context.Context, _ workflow.Target, req *a2av1.SendMessageRequest) iterSeq {
	return r.d.Send(ctx, workflow.Target{Agent: r.url}, req)
}

func (r routeAll) Cancel(ctx context.Context, _ workflow.Target, id string) error {
	return r.d.Cancel(ctx, workflow.Target{Agent: r.url}, id)
}
