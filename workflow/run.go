package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Result is what a run produced.
type Result struct {
	// Outputs are Definition.Output evaluated; nil unless every step
	// completed.
	Outputs map[string]any
	// Steps holds every step's result, by id.
	Steps map[string]StepResult
}

// StepResult is how one step ended.
type StepResult struct {
	// Status is completed, failed, canceled or skipped.
	Status Status
	// Attempts is how many attempts were made (0 for a skipped step).
	Attempts int
	// TaskID is the remote task of the last attempt ("" if the agent
	// created none).
	TaskID string
	// Text and Data are what ${steps.ID.output.text} and
	// ${steps.ID.output.data} read, for a completed step (Data is nil when
	// no data part was produced).
	Text string
	Data any
	// Artifacts are the final artifacts of the last attempt's task, chunks
	// joined.
	Artifacts []*a2av1.Artifact
	// Message is the agent's last status message, or its direct reply.
	Message *a2av1.Message
	// Err is why the step did not complete.
	Err error
	// Started and Finished bound the step's work (zero when skipped).
	Started, Finished time.Time
}

// Run is a workflow being run. Its methods are safe for concurrent use.
type Run struct {
	plan  *plan
	d     Dispatcher
	opts  options
	input any

	ctx       context.Context         // the caller's
	stepsCtx  context.Context         // ended when the run stops early
	stopSteps context.CancelCauseFunc // ends stepsCtx

	mu       sync.Mutex
	log      []Event
	changed  chan struct{} // closed (and replaced) when the log grows or the run ends
	finished bool

	done   chan struct{}
	result *Result
	err    error
}

// Start validates def and starts running it with input (anything
// encoding/json can marshal; json.RawMessage passes JSON text through)
// on d. It returns at once; follow the run with [Run.Events], and get
// its outcome with [Run.Wait].
//
// Ending ctx stops the run: running steps are canceled (their remote tasks
// too), the others skipped. The returned error reports a definition that
// does not validate or an input that is not JSON.
func Start(ctx context.Context, def *Definition, input any, d Dispatcher, opts ...Option) (*Run, error) {
	if d == nil {
		return nil, errors.New("workflow: no dispatcher")
	}
	p, err := def.compile()
	if err != nil {
		return nil, err
	}
	in, err := normalize(input)
	if err != nil {
		return nil, fmt.Errorf("workflow %q: input: %w", p.name, err)
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	r := &Run{plan: p, d: d, opts: o, input: in, ctx: ctx, changed: make(chan struct{}), done: make(chan struct{})}
	r.stepsCtx, r.stopSteps = context.WithCancelCause(ctx)
	for _, s := range p.steps {
		r.emit(Event{Type: EventPending, Step: s.id})
	}
	go r.loop()
	return r, nil
}

// Execute runs def to its end: [Start], then [Run.Wait].
func Execute(ctx context.Context, def *Definition, input any, d Dispatcher, opts ...Option) (*Result, error) {
	r, err := Start(ctx, def, input, d, opts...)
	if err != nil {
		return nil, err
	}
	return r.Wait()
}

// normalize turns input into plain JSON values (maps, lists, strings,
// float64, bool, nil), which is what expressions walk.
func normalize(input any) (any, error) {
	if input == nil {
		return nil, nil
	}
	b, err := json.Marshal(input)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// Name is the workflow's name.
func (r *Run) Name() string { return r.plan.name }

// Events iterates over the run's events from the first, as they happen,
// and ends when the run has ended and every event was seen. Any number of
// iterations may run, each seeing every event; the run never waits for
// them.
func (r *Run) Events() iter.Seq[Event] {
	return func(yield func(Event) bool) {
		next := 0
		for {
			r.mu.Lock()
			batch, changed, finished := r.log[next:], r.changed, r.finished
			r.mu.Unlock()
			for _, e := range batch {
				if !yield(e) {
					return
				}
			}
			next += len(batch)
			if len(batch) == 0 {
				if finished {
					return
				}
				<-changed
			}
		}
	}
}

// Wait waits for the run to end and returns its result, with every step's
// outcome, and its error: nil when every step completed and the outputs
// were evaluated; a *StepError for the first step that failed; the
// context's error, wrapped, when the run's context ended first; an *Error
// for an output expression that could not be evaluated.
func (r *Run) Wait() (*Result, error) {
	<-r.done
	return r.result, r.err
}

// Done is closed when the run has ended.
func (r *Run) Done() <-chan struct{} { return r.done }

// emit records an event and wakes the iterations waiting for it.
func (r *Run) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, e)
	close(r.changed)
	r.changed = make(chan struct{})
}

// stepDone is a step's outcome, sent to the loop.
type stepDone struct {
	step   *stepPlan
	result StepResult
	out    *stepOutput // completed steps only
}

// loop schedules the steps: each starts once its dependencies completed
// (and a slot is free); the first failure, or the end of the run's
// context, stops the run.
func (r *Run) loop() {
	p := r.plan
	results := make(map[string]StepResult, len(p.steps))
	outputs := map[string]*stepOutput{}
	waiting := make(map[*stepPlan]int, len(p.steps))
	var ready []*stepPlan
	for _, s := range p.steps {
		if waiting[s] = len(s.deps); waiting[s] == 0 {
			ready = append(ready, s)
		}
	}
	done := make(chan stepDone, len(p.steps))
	started := map[*stepPlan]bool{}
	running := 0
	var runErr error
	stopping := false
	stop := func(cause error) {
		stopping = true
		r.stopSteps(cause)
		for _, s := range p.steps {
			if !started[s] {
				started[s] = true
				results[s.id] = StepResult{Status: StatusSkipped, Err: cause}
				r.emit(Event{Type: EventSkipped, Step: s.id, Err: cause})
			}
		}
	}
	ctxDone := r.ctx.Done()
	for {
		if !stopping && r.ctx.Err() != nil {
			runErr = fmt.Errorf("workflow %q: %w", p.name, context.Cause(r.ctx))
			stop(runErr)
		}
		for !stopping && len(ready) > 0 && (r.opts.parallelism == 0 || running < r.opts.parallelism) {
			s := ready[0]
			ready = ready[1:]
			started[s] = true
			running++
			sc := &scope{input: r.input, steps: make(map[string]*stepOutput, len(outputs))}
			for id, o := range outputs { // a copy: the loop keeps adding to outputs
				sc.steps[id] = o
			}
			go func() { done <- r.runStep(s, sc) }()
		}
		if running == 0 {
			break
		}
		select {
		case d := <-done:
			running--
			results[d.step.id] = d.result
			switch d.result.Status {
			case StatusCompleted:
				outputs[d.step.id] = d.out
				for _, next := range d.step.dependents {
					if waiting[next]--; waiting[next] == 0 {
						ready = append(ready, next)
					}
				}
				slices.SortFunc(ready, func(a, b *stepPlan) int { return a.index - b.index })
			case StatusFailed:
				if !stopping {
					runErr = &StepError{Step: d.step.id, Err: d.result.Err}
					stop(fmt.Errorf("step %q failed", d.step.id))
				}
			}
		case <-ctxDone:
			ctxDone = nil // handled at the top of the loop
		}
	}
	res := &Result{Steps: results}
	if runErr == nil {
		res.Outputs, runErr = r.outputs(&scope{input: r.input, steps: outputs})
	}
	r.mu.Lock()
	r.result, r.err = res, runErr
	r.finished = true
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	r.stopSteps(context.Canceled) // releases the context's resources
	close(r.done)
}

// outputs evaluates Definition.Output once every step has completed.
func (r *Run) outputs(sc *scope) (map[string]any, error) {
	out := make(map[string]any, len(r.plan.outputs))
	for _, o := range r.plan.outputs {
		v, err := o.t.eval(sc)
		if err != nil {
			return nil, err
		}
		out[o.name] = v
	}
	return out, nil
}
