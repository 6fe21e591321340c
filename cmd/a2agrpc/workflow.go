package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
	"github.com/a2agrpc/a2agrpc/workflow"
)

// runWorkflow is "a2agrpc workflow run|check".
func runWorkflow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		workflowUsage(stderr)
		return errUsage
	}
	switch args[0] {
	case "run":
		return workflowRun(ctx, args[1:], stdout, stderr)
	case "check":
		return workflowCheck(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		workflowUsage(stdout)
		return nil
	}
	fmt.Fprintf(stderr, "a2agrpc workflow: unknown subcommand %q\n\n", args[0])
	workflowUsage(stderr)
	return errUsage
}

func workflowUsage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  a2agrpc workflow run [flags] FILE    run a workflow, printing each step's progress, then its outputs
  a2agrpc workflow check FILE          validate a workflow file

A workflow file is YAML: a name, steps that each call an agent (by URL, or
by capability through a registry), their dependencies, and expressions
such as ${input.document} or ${steps.extract.output.text}; see the
documentation of package github.com/a2agrpc/a2agrpc/workflow.

Run "a2agrpc workflow run -h" for its flags. Exit codes: 0 the workflow
completed; 1 a step failed; 2 bad command line or bad file; 3 an agent could
not be reached or a step timed out; 5 an agent refused the credentials.
`)
}

// workflowCheck validates a file and shows the order steps will run in.
func workflowCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("workflow check", "FILE", stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	path, err := oneArg(fs, "workflow file")
	if err != nil {
		return err
	}
	def, err := workflow.Load(path)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stdout, "%s: workflow %q is valid: %d steps\n", path, def.Name, len(def.Steps))
	for i, stage := range stages(def) {
		fmt.Fprintf(stdout, "  %d. %s\n", i+1, strings.Join(stage, ", "))
	}
	return nil
}

// stages groups the steps of a valid definition by how deep they sit in
// the dependency graph: each stage can start once the ones before it are
// done, and the steps of a stage can run in parallel.
func stages(def *workflow.Definition) [][]string {
	depth := map[string]int{}
	var walk func(id string) int
	byID := map[string]workflow.Step{}
	for _, s := range def.Steps {
		byID[s.ID] = s
	}
	walk = func(id string) int {
		if d, ok := depth[id]; ok {
			return d
		}
		d := 0
		for _, dep := range byID[id].DependsOn {
			d = max(d, walk(dep)+1)
		}
		depth[id] = d
		return d
	}
	var out [][]string
	for _, s := range def.Steps {
		d := walk(s.ID)
		for len(out) <= d {
			out = append(out, nil)
		}
		out[d] = append(out[d], s.ID)
	}
	return out
}

// workflowRun runs a workflow file against real agents.
func workflowRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("workflow run", "FILE", stderr)
	inputJSON := fs.String("input", "", "the workflow's input, as JSON (what ${input...} reads)")
	inputFile := fs.String("input-file", "", "file holding the workflow's input as JSON")
	asJSON := fs.Bool("json", false, "print each event as a JSON line, then the result as one")
	parallel := fs.Int("parallel", 0, "run at most this many steps at once (0: as many as the dependencies allow)")
	registry := fs.String("registry", "", "address of the agent registry that resolves capability steps")
	var cf clientFlags
	clientFlagsExcept(fs, &cf, "url", "json")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	path, err := oneArg(fs, "workflow file")
	if err != nil {
		return err
	}
	input, err := readInput(*inputJSON, *inputFile)
	if err != nil {
		return usageError{err}
	}
	def, err := workflow.Load(path)
	if err != nil {
		return usageError{err}
	}
	opts, err := cf.options()
	if err != nil {
		return usageError{err}
	}
	d, closeAll, err := dispatcher(ctx, def, *registry, opts)
	if err != nil {
		return err
	}
	defer closeAll()
	out := &runPrinter{w: stdout, json: *asJSON, start: time.Now()}
	r, err := workflow.Start(ctx, def, input, d, workflow.WithParallelism(*parallel))
	if err != nil {
		return usageError{err}
	}
	for ev := range r.Events() {
		if err := out.event(ev); err != nil {
			return err
		}
	}
	res, runErr := r.Wait()
	if err := out.result(def, res, runErr); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

// clientFlagsExcept registers the client flags (TLS, credentials,
// transports) on fs, but for the named ones, which make no sense here.
func clientFlagsExcept(fs *flag.FlagSet, cf *clientFlags, except ...string) {
	all := flag.NewFlagSet("", flag.ContinueOnError)
	cf.register(all)
	all.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(except, f.Name) {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
}

// readInput parses -input or -input-file (at most one); none is a null
// input.
func readInput(inline, file string) (any, error) {
	if inline != "" && file != "" {
		return nil, errors.New("workflow run: -input and -input-file are exclusive")
	}
	data, what := []byte(inline), "-input"
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-input-file: %w", err)
		}
		data, what = b, "-input-file "+file
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %w", what, err)
	}
	return v, nil
}

// dispatcher sends agent-URL steps directly and capability steps through
// the registry router; closeAll releases both.
func dispatcher(ctx context.Context, def *workflow.Definition, registry string, opts []client.Option) (workflow.Dispatcher, func(), error) {
	direct := workflow.Direct(opts...)
	closeAll := func() { direct.Close() }
	var capStep string
	for _, s := range def.Steps {
		if s.Target.Capability != nil {
			capStep = s.ID
			break
		}
	}
	switch {
	case registry == "" && capStep == "":
		return direct, closeAll, nil
	case registry == "":
		closeAll()
		return nil, nil, usageError{fmt.Errorf("workflow run: step %q selects its agent by capability: give -registry ADDR", capStep)}
	}
	disc, err := openDiscovery(ctx, registry, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("-registry %s: %w", registry, err)
	}
	closeAll = func() { direct.Close(); disc.Close() }
	return workflow.ByTarget(direct, workflow.Routed(disc.Router, router.Policy{})), closeAll, nil
}

// runPrinter shows a run: one line per event, then the outcome.
type runPrinter struct {
	w     io.Writer
	json  bool
	start time.Time
}

func (p *runPrinter) event(ev workflow.Event) error {
	if p.json {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	}
	var detail string
	switch ev.Type {
	case workflow.EventRunning:
		detail = fmt.Sprintf("attempt %d", ev.Attempt)
		if ev.TaskID != "" {
			detail = strings.TrimSpace("task " + ev.TaskID + " " + progressText(ev))
		}
	case workflow.EventProgress:
		detail = progressText(ev)
	case workflow.EventRetrying:
		detail = fmt.Sprintf("attempt %d in %v: %v", ev.Attempt, ev.Backoff, ev.Err)
	case workflow.EventCompleted:
		detail = cmp.Or(taskLabel(ev.TaskID), "replied with a message")
	case workflow.EventFailed, workflow.EventCanceled, workflow.EventSkipped:
		detail = fmt.Sprint(ev.Err)
		if ev.Type != workflow.EventSkipped && ev.TaskID != "" && !strings.Contains(detail, ev.TaskID) {
			detail = taskLabel(ev.TaskID) + ": " + detail
		}
	}
	_, err := fmt.Fprintf(p.w, "%8.3fs  %-16s %-9s %s\n", ev.Time.Sub(p.start).Seconds(), ev.Step, ev.Type, detail)
	return err
}

func taskLabel(id string) string {
	if id == "" {
		return ""
	}
	return "task " + id
}

// progressText is one line for a status update or artifact chunk.
func progressText(ev workflow.Event) string {
	u := ev.Update
	var st *a2av1.TaskStatus
	switch {
	case u.GetArtifactUpdate() != nil:
		a := u.GetArtifactUpdate().GetArtifact()
		return fmt.Sprintf("artifact %s: %s", cmp.Or(a.GetName(), a.GetArtifactId()), oneLine(partsText(a.GetParts())))
	case u.GetStatusUpdate() != nil:
		st = u.GetStatusUpdate().GetStatus()
	case u.GetTask() != nil:
		st = u.GetTask().GetStatus()
	default:
		return ""
	}
	return strings.TrimSpace(stateName(st.GetState()) + " " + oneLine(partsText(st.GetMessage().GetParts())))
}

// oneLine keeps a progress line on one line, and short.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	if r := []rune(s); len(r) > 120 {
		s = string(r[:119]) + "…"
	}
	return s
}

// result prints how the run ended: its outputs, or which steps failed.
func (p *runPrinter) result(def *workflow.Definition, res *workflow.Result, runErr error) error {
	status := "completed"
	var se *workflow.StepError
	switch {
	case runErr == nil:
	case !errors.As(runErr, &se) && (errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded)):
		status = "canceled" // the run's context ended: Ctrl-C
	default:
		status = "failed"
	}
	if p.json {
		type stepJSON struct {
			Status   workflow.Status `json:"status"`
			Attempts int             `json:"attempts,omitempty"`
			TaskID   string          `json:"taskId,omitempty"`
			Error    string          `json:"error,omitempty"`
		}
		out := struct {
			Workflow string              `json:"workflow"`
			Status   string              `json:"status"`
			Error    string              `json:"error,omitempty"`
			Outputs  map[string]any      `json:"outputs,omitempty"`
			Steps    map[string]stepJSON `json:"steps"`
		}{Workflow: def.Name, Status: status, Outputs: res.Outputs, Steps: map[string]stepJSON{}}
		if runErr != nil {
			out.Error = runErr.Error()
		}
		for id, s := range res.Steps {
			js := stepJSON{Status: s.Status, Attempts: s.Attempts, TaskID: s.TaskID}
			if s.Err != nil {
				js.Error = s.Err.Error()
			}
			out.Steps[id] = js
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	}
	fmt.Fprintf(p.w, "workflow %s %s in %.3fs\n", def.Name, status, time.Since(p.start).Seconds())
	if runErr != nil {
		for _, s := range def.Steps {
			r := res.Steps[s.ID]
			fmt.Fprintf(p.w, "  %-16s %-9s %s\n", s.ID, r.Status, attemptsLabel(r.Attempts))
		}
		return nil
	}
	fmt.Fprintln(p.w, "outputs:")
	for _, name := range slices.Sorted(maps.Keys(res.Outputs)) {
		fmt.Fprintf(p.w, "  %s: %s\n", name, outputText(res.Outputs[name]))
	}
	return nil
}

func attemptsLabel(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// outputText shows an output: a string as it is (later lines indented
// under the name), anything else as JSON.
func outputText(v any) string {
	if s, ok := v.(string); ok {
		return strings.ReplaceAll(s, "\n", "\n    ")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
