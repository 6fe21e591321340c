package loadgen

import (
	"fmt"
	"strings"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// checkSendResponse accepts a completed task whose artifacts echo Payload.
func checkSendResponse(r *a2av1.SendMessageResponse) error {
	t := r.GetTask()
	if t.GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
		return fmt.Errorf("task state %v, want COMPLETED", t.GetStatus().GetState())
	}
	var b strings.Builder
	for _, a := range t.GetArtifacts() {
		for _, p := range a.GetParts() {
			b.WriteString(p.GetText())
		}
	}
	if b.String() != Payload {
		return fmt.Errorf("artifacts echo %d bytes, want the %d-byte payload", b.Len(), len(Payload))
	}
	return nil
}

// streamCheck validates the echo stream: a task first, a COMPLETED status
// last, five events in all.
type streamCheck struct {
	n    int
	last *a2av1.StreamResponse
}

func (c *streamCheck) add(ev *a2av1.StreamResponse) error {
	if c.n == 0 && ev.GetTask() == nil {
		return fmt.Errorf("first event %T, want a task", ev.GetPayload())
	}
	c.n++
	c.last = ev
	return nil
}

func (c *streamCheck) done() error {
	if c.n != 5 || c.last.GetStatusUpdate().GetStatus().GetState() != a2av1.TaskState_TASK_STATE_COMPLETED {
		return fmt.Errorf("stream of %d events ending with %v, want 5 ending COMPLETED", c.n, c.last)
	}
	return nil
}
