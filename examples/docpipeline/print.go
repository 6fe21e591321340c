package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/workflow"
)

// printer shows a run as it happens: one line per workflow event, then the
// outcome. With json set, each is one JSON object per line instead, for
// programs to read.
type printer struct {
	w     io.Writer
	json  bool
	start time.Time
}

// note prints a line about the setup (text mode only: a JSON reader wants
// nothing but events and the result).
func (p *printer) note(format string, args ...any) {
	if !p.json {
		fmt.Fprintf(p.w, format+"\n", args...)
	}
}

// event prints one event: when (since the run started), the step, what
// happened, the remote task and a detail.
func (p *printer) event(ev workflow.Event) error {
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
			detail = updateText(ev.Update) // the task as created
		}
	case workflow.EventProgress:
		detail = updateText(ev.Update)
	case workflow.EventRetrying:
		detail = fmt.Sprintf("attempt %d in %v: %v", ev.Attempt, ev.Backoff, ev.Err)
	case workflow.EventFailed, workflow.EventCanceled, workflow.EventSkipped:
		detail = fmt.Sprint(ev.Err)
		var tse *workflow.TaskStateError
		if errors.As(ev.Err, &tse) && tse.TaskID == ev.TaskID {
			detail = strings.Replace(detail, "task "+tse.TaskID+" ", "", 1) // the task column names it
		}
	}
	cols := []string{fmt.Sprintf("%7.3fs", ev.Time.Sub(p.start).Seconds()), fmt.Sprintf("%-9s", ev.Step), fmt.Sprintf("%-9s", ev.Type)}
	if ev.TaskID != "" {
		cols = append(cols, "task "+ev.TaskID)
	}
	if detail != "" {
		cols = append(cols, oneLine(detail))
	}
	_, err := fmt.Fprintln(p.w, strings.TrimRight(strings.Join(cols, "  "), " "))
	return err
}

// updateText is one line for a status update or an artifact (chunk).
func updateText(u *a2av1.StreamResponse) string {
	switch {
	case u.GetArtifactUpdate() != nil:
		au := u.GetArtifactUpdate()
		a := au.GetArtifact()
		what := "artifact " + a.GetArtifactId()
		if au.GetAppend() || !au.GetLastChunk() {
			what += " (chunk)"
		}
		return what + ": " + partsText(a.GetParts())
	case u.GetStatusUpdate() != nil:
		return statusText(u.GetStatusUpdate().GetStatus())
	case u.GetTask() != nil:
		return statusText(u.GetTask().GetStatus())
	}
	return ""
}

// statusText is a task's state and the message that explains it.
func statusText(st *a2av1.TaskStatus) string {
	return strings.TrimPrefix(st.GetState().String(), "TASK_STATE_") + " " + partsText(st.GetMessage().GetParts())
}

// partsText renders parts on one line: text as it is, data as JSON.
func partsText(parts []*a2av1.Part) string {
	var out []string
	for _, p := range parts {
		switch {
		case p.GetData() != nil:
			b, _ := json.Marshal(p.GetData().AsInterface())
			out = append(out, string(b))
		default:
			out = append(out, p.GetText())
		}
	}
	return strings.TrimSpace(strings.Join(out, " "))
}

// oneLine keeps a detail on one line, and short.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 72 {
		s = string(r[:71]) + "…"
	}
	return s
}

// result prints how the run ended: the outputs, or each step's status.
func (p *printer) result(name string, res *workflow.Result, runErr error) error {
	status := "completed"
	var se *workflow.StepError
	switch {
	case runErr == nil:
	case errors.As(runErr, &se):
		status = "failed"
	default:
		status = "stopped" // the context ended: Ctrl-C
	}
	if p.json {
		return p.resultJSON(name, status, res, runErr)
	}
	fmt.Fprintf(p.w, "workflow %s %s in %.3fs\n", name, status, time.Since(p.start).Seconds())
	if runErr != nil {
		fmt.Fprintf(p.w, "  %v\n", runErr)
		for _, id := range slices.Sorted(maps.Keys(res.Steps)) {
			fmt.Fprintf(p.w, "  %-9s  %s\n", id, res.Steps[id].Status)
		}
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(res.Outputs)) {
		v := res.Outputs[k]
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		fmt.Fprintf(p.w, "  %-9s  %s\n", k, wrap(s, 72, "\n"+strings.Repeat(" ", 13)))
	}
	return nil
}

func (p *printer) resultJSON(name, status string, res *workflow.Result, runErr error) error {
	type step struct {
		Status   workflow.Status `json:"status"`
		Attempts int             `json:"attempts,omitempty"`
		TaskID   string          `json:"taskId,omitempty"`
		Error    string          `json:"error,omitempty"`
	}
	out := struct {
		Workflow string          `json:"workflow"`
		Status   string          `json:"status"`
		Error    string          `json:"error,omitempty"`
		Outputs  map[string]any  `json:"outputs,omitempty"`
		Steps    map[string]step `json:"steps"`
	}{Workflow: name, Status: status, Outputs: res.Outputs, Steps: map[string]step{}}
	if runErr != nil {
		out.Error = runErr.Error()
	}
	for id, s := range res.Steps {
		st := step{Status: s.Status, Attempts: s.Attempts, TaskID: s.TaskID}
		if s.Err != nil {
			st.Error = s.Err.Error()
		}
		out.Steps[id] = st
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.w, "%s\n", b)
	return err
}

// wrap breaks s into lines of at most width runes, at spaces, joined with
// sep.
func wrap(s string, width int, sep string) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len([]rune(line))+1+len([]rune(w)) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), sep)
}
