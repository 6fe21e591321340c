package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/host"
	"github.com/a2agrpc/a2agrpc/workflow"
)

// TestMain fails the tests if anything the pipeline started (servers,
// leases, the registry watch, connections) outlives its shutdown.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testDelay keeps the summary's chunks apart in time without slowing the
// tests down.
const testDelay = 30 * time.Millisecond

// ferryReview is the known input: HTML, with a title, a style sheet and a
// script that must not count as text, a heading, one negated sentiment
// word ("never slow") and one plain negative ("problem").
const ferryReview = `<!DOCTYPE html>
<html><head><title>Ferry review</title><style>p { color: red }</style></head>
<body>
<h1>The harbour ferry</h1>
<p>The new harbour ferry is fast, clean and reliable.</p>
<p>Ferry tickets are not cheap, and the harbour car park is a problem at weekends.</p>
<p>Most passengers say the harbour ferry is a great improvement on the old bridge road.</p>
<p>The crew were friendly and helpful, and the crossing was never slow.</p>
<script>var ignored = "terrible, awful, dreadful";</script>
</body></html>`

// What the pipeline must make of ferryReview, worked out by hand:
//   - words: 3 (heading) + 9 + 15 + 15 + 12;
//   - sentiment: fast, clean, reliable, great, improvement, friendly,
//     helpful and "never slow" are positive, "problem" negative: (8−1)/9;
//   - summary of 2: "harbour" and "ferry" occur 4 times, every other
//     content word once; the mean weights of the four sentences are 12/24,
//     14/32, 15/36 and 6/24, and the heading does not compete.
const (
	wantWords     = 54
	wantLabel     = labelPositive
	wantScore     = 0.78
	wantSummary1  = "The new harbour ferry is fast, clean and reliable."
	wantSummary2  = "Ferry tickets are not cheap, and the harbour car park is a problem at weekends."
	wantSentences = 2
)

func ferryDocument() document {
	return document{input: input{Document: ferryReview, Sentences: wantSentences}, name: "ferry.html"}
}

// TestRun runs the example as main does and reads what it prints: the
// agents registered, each capability resolved through the registry, the
// workflow's events in a valid order, the outputs, and the registry empty
// after the agents stopped.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, ferryDocument(), config{summaryDelay: testDelay}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"registered: extract-text, sentiment, summarize\n",
		"capability skill_id=extract-text -> agent extract-text at 127.0.0.1:",
		"capability skill_id=sentiment,output_mode=application/json -> agent sentiment at 127.0.0.1:",
		"capability skill_id=summarize -> agent summarize at 127.0.0.1:",
		"workflow document-pipeline completed in ",
		"  sentiment  positive\n",
		"  score      0.78\n",
		"  words      54\n",
		"agents stopped and deregistered; 0 registrations left\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// The summary is wrapped; compare it with the whitespace folded.
	flat := strings.Join(strings.Fields(got), " ")
	if !strings.Contains(flat, "summary "+wantSummary1+" "+wantSummary2+" words") {
		t.Errorf("summary is not %q then %q:\n%s", wantSummary1, wantSummary2, got)
	}

	ev := eventLines(got)
	extractDone := ev.first("extract", "completed")
	sentStart, sumStart := ev.first("sentiment", "running"), ev.first("summarize", "running")
	sentDone, sumDone := ev.first("sentiment", "completed"), ev.first("summarize", "completed")
	if extractDone < 0 || sentStart < 0 || sumStart < 0 || sentDone < 0 || sumDone < 0 {
		t.Fatalf("events missing:\n%s", got)
	}
	if sentStart < extractDone || sumStart < extractDone {
		t.Errorf("sentiment (line %d) or summarize (line %d) started before extract completed (line %d)", sentStart, sumStart, extractDone)
	}
	// Both start when extract completes, before either can finish: the
	// two steps overlap.
	if sentStart > sumDone || sumStart > sentDone {
		t.Errorf("sentiment and summarize did not overlap: running %d/%d, completed %d/%d", sentStart, sumStart, sentDone, sumDone)
	}
	if n := ev.count("summarize", "progress", "artifact summary (chunk)"); n != wantSentences {
		t.Errorf("summary streamed in %d chunks, want %d", n, wantSentences)
	}
}

// TestRunJSON runs with -json: every line is one JSON object, the events
// then the result.
func TestRunJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, ferryDocument(), config{json: true, summaryDelay: testDelay}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		var ev struct{ Type, Step string }
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Type == "" || ev.Step == "" {
			t.Fatalf("not an event: %q (%v)", l, err)
		}
	}
	var res struct {
		Status  string
		Outputs map[string]any
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.Status != "completed" ||
		res.Outputs["sentiment"] != wantLabel || res.Outputs["words"] != float64(wantWords) {
		t.Errorf("result line %q: %+v, %v", lines[len(lines)-1], res, err)
	}
}

// TestPipeline checks the same run through the example's pieces: that the
// registry held exactly the three agents, that each step's task lives on
// the agent registered for its capability (so it was found through the
// registry: the workflow names no address), that the steps overlapped in
// time, and that stopping the agents deregistered them.
func TestPipeline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	def, err := definition()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range def.Steps {
		if s.Target.Agent != "" || s.Target.Capability == nil {
			t.Fatalf("step %s has target %v: every step must name a capability", s.ID, s.Target)
		}
	}
	p, err := startPipeline(testDelay)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.shutdown(); err != nil {
			t.Error(err)
		}
	}()
	ids, err := p.registered(ctx)
	if err != nil || strings.Join(ids, ",") != "extract-text,sentiment,summarize" {
		t.Fatalf("registered = %v, %v", ids, err)
	}
	if _, err := p.waitReady(ctx, capabilities(def)); err != nil {
		t.Fatal(err)
	}
	var events []workflow.Event
	res, err := p.process(ctx, def, ferryDocument().input, func(ev workflow.Event) error {
		events = append(events, ev)
		return nil
	})
	if err != nil {
		t.Fatalf("process: %v", err)
	}

	want := map[string]any{"sentiment": wantLabel, "score": wantScore, "words": float64(wantWords),
		"summary": wantSummary1 + " " + wantSummary2}
	for k, v := range want {
		if res.Outputs[k] != v {
			t.Errorf("output %s = %#v, want %#v", k, res.Outputs[k], v)
		}
	}
	if len(res.Outputs) != len(want) {
		t.Errorf("outputs = %v", res.Outputs)
	}

	ext, sen, sum := res.Steps["extract"], res.Steps["sentiment"], res.Steps["summarize"]
	if sen.Started.Before(ext.Finished) || sum.Started.Before(ext.Finished) {
		t.Errorf("a step started before extract finished: extract ended %v, sentiment started %v, summarize %v",
			ext.Finished, sen.Started, sum.Started)
	}
	if !sen.Started.Before(sum.Finished) || !sum.Started.Before(sen.Finished) {
		t.Errorf("sentiment [%v, %v] and summarize [%v, %v] did not overlap", sen.Started, sen.Finished, sum.Started, sum.Finished)
	}

	bySkill := agentsBySkill(p)
	for step, skill := range map[string]string{"extract": "extract-text", "sentiment": "sentiment", "summarize": "summarize"} {
		id := res.Steps[step].TaskID
		task, err := bySkill[skill].Handler().GetTask(ctx, &a2av1.GetTaskRequest{Id: id})
		if err != nil || task.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
			t.Errorf("step %s: task %s on agent %s: %v, %v", step, id, skill, task.GetStatus().GetState(), err)
		}
	}

	var chunks []time.Time
	for _, ev := range events {
		if ev.Step == "summarize" && ev.Update.GetArtifactUpdate() != nil {
			chunks = append(chunks, ev.Time)
		}
	}
	if len(chunks) != wantSentences || chunks[len(chunks)-1].Sub(chunks[0]) < testDelay/2 {
		t.Errorf("summary chunks at %v: want %d, streamed about %v apart", chunks, wantSentences, testDelay)
	}

	if err := p.stopAgents(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := p.reg.Get(ctx, id); !errors.Is(err, a2agrpc.ErrAgentNotFound) {
			t.Errorf("registration %s after the agents stopped: %v, want AGENT_NOT_FOUND", id, err)
		}
	}
	eventually(t, "the resolver to drop the stopped agents", func() bool {
		for _, f := range capabilities(def) {
			if eps, _ := p.resolver.Resolve(ctx, f); len(eps) > 0 {
				return false
			}
		}
		return true
	})
}

// TestFailingStep runs documents extract-text must reject: the run fails
// naming the step, and the steps after it never run.
func TestFailingStep(t *testing.T) {
	for name, doc := range map[string]input{
		"empty":        {Document: " \n\t ", Format: formatText},
		"markup only":  {Document: "<html><body><p> </p><!-- draft --><script>x()</script></body></html>"},
		"wrong format": {Document: "Some text.", Format: "pdf"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out bytes.Buffer
			err := run(ctx, &out, document{input: doc, name: name}, config{summaryDelay: testDelay})
			var se *workflow.StepError
			var tse *workflow.TaskStateError
			if !errors.As(err, &se) || se.Step != "extract" || !errors.As(err, &tse) || tse.State != a2av1.TaskState_TASK_STATE_REJECTED {
				t.Fatalf("run = %v, want step extract REJECTED\n%s", err, out.String())
			}
			if !strings.Contains(err.Error(), `step "extract"`) {
				t.Errorf("error %q does not name the step", err)
			}
			got := out.String()
			for _, want := range []string{"workflow document-pipeline failed", "extract    failed", "sentiment  skipped", "summarize  skipped",
				"0 registrations left"} {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %q:\n%s", want, got)
				}
			}
		})
	}
}

// TestCancel ends the run's context while the summary streams, as Ctrl-C
// does: the run stops with the context's error, the remote task is
// canceled on the agent, and everything still shuts down (TestMain checks
// that nothing is left running).
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	def, err := definition()
	if err != nil {
		t.Fatal(err)
	}
	p, err := startPipeline(time.Minute) // the summary would take minutes
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.shutdown(); err != nil {
			t.Error(err)
		}
	}()
	if _, err := p.waitReady(ctx, capabilities(def)); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var summarizeTask string
	start := time.Now()
	res, err := p.process(runCtx, def, ferryDocument().input, func(ev workflow.Event) error {
		if ev.Step == "summarize" && ev.Type == workflow.EventRunning && ev.TaskID != "" {
			summarizeTask = ev.TaskID
			stop() // Ctrl-C
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("process = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stopping took %v", took)
	}
	if st := res.Steps["summarize"].Status; st != workflow.StatusCanceled {
		t.Errorf("summarize ended %s, want canceled", st)
	}
	summarize := agentsBySkill(p)["summarize"]
	eventually(t, "the summarize task to be canceled on its agent", func() bool {
		task, err := summarize.Handler().GetTask(ctx, &a2av1.GetTaskRequest{Id: summarizeTask})
		return err == nil && task.GetStatus().GetState() == a2av1.TaskState_TASK_STATE_CANCELED
	})
}

// agentsBySkill maps the running agents by their skill.
func agentsBySkill(p *pipeline) map[string]*host.Agent {
	m := map[string]*host.Agent{}
	for _, a := range p.agents {
		m[a.Card().GetSkills()[0].GetId()] = a
	}
	return m
}

// eventually polls cond for up to five seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// events are the printed event lines, as (step, type, rest) triples in
// order.
type events [][3]string

func eventLines(out string) events {
	var ev events
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.HasSuffix(f[0], "s") && strings.Contains(f[0], ".") {
			ev = append(ev, [3]string{f[1], f[2], strings.Join(f[3:], " ")})
		}
	}
	return ev
}

// first is the index of the first event of step of type typ (-1: none).
func (ev events) first(step, typ string) int {
	for i, e := range ev {
		if e[0] == step && e[1] == typ {
			return i
		}
	}
	return -1
}

// count counts the events of step of type typ whose rest contains s.
func (ev events) count(step, typ, s string) int {
	n := 0
	for _, e := range ev {
		if e[0] == step && e[1] == typ && strings.Contains(e[2], s) {
			n++
		}
	}
	return n
}
