package workflow

import (
	"strings"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// taskView is what one attempt has seen of its task so far: the stream's
// events folded into the task's state, status message and artifacts.
type taskView struct {
	taskID    string
	contextID string
	state     a2av1.TaskState
	message   *a2av1.Message // the latest status message, or the direct reply
	replied   bool           // the agent answered with a message, no task
	artifacts []*a2av1.Artifact
}

// apply folds one stream event in.
func (v *taskView) apply(ev *a2av1.StreamResponse) {
	switch {
	case ev.GetTask() != nil:
		t := ev.GetTask()
		v.taskID, v.contextID = t.GetId(), t.GetContextId()
		v.status(t.GetStatus())
		v.artifacts = v.artifacts[:0]
		for _, a := range t.GetArtifacts() {
			v.artifacts = append(v.artifacts, proto.Clone(a).(*a2av1.Artifact))
		}
	case ev.GetStatusUpdate() != nil:
		u := ev.GetStatusUpdate()
		v.taskID, v.contextID = u.GetTaskId(), u.GetContextId()
		v.status(u.GetStatus())
	case ev.GetArtifactUpdate() != nil:
		u := ev.GetArtifactUpdate()
		v.taskID, v.contextID = u.GetTaskId(), u.GetContextId()
		v.artifact(u.GetArtifact(), u.GetAppend())
	case ev.GetMessage() != nil:
		v.replied = true
		v.state = a2av1.TaskState_TASK_STATE_COMPLETED
		v.message = ev.GetMessage()
	}
}

func (v *taskView) status(st *a2av1.TaskStatus) {
	v.state = st.GetState()
	if m := st.GetMessage(); m != nil {
		v.message = m
	}
}

// artifact adds a (chunk of an) artifact: appended to the one with the same
// id, or replacing it.
func (v *taskView) artifact(a *a2av1.Artifact, appendParts bool) {
	for i, have := range v.artifacts {
		if have.GetArtifactId() != a.GetArtifactId() {
			continue
		}
		if appendParts {
			for _, p := range a.GetParts() {
				have.Parts = append(have.Parts, proto.Clone(p).(*a2av1.Part))
			}
			return
		}
		v.artifacts[i] = proto.Clone(a).(*a2av1.Artifact)
		return
	}
	v.artifacts = append(v.artifacts, proto.Clone(a).(*a2av1.Artifact))
}

// terminal reports whether the task has ended, successfully or not.
func (v *taskView) terminal() bool {
	switch v.state {
	case a2av1.TaskState_TASK_STATE_COMPLETED, a2av1.TaskState_TASK_STATE_FAILED,
		a2av1.TaskState_TASK_STATE_CANCELED, a2av1.TaskState_TASK_STATE_REJECTED:
		return true
	}
	return false
}

// interrupted reports whether the task waits for its caller.
func (v *taskView) interrupted() bool {
	return v.state == a2av1.TaskState_TASK_STATE_INPUT_REQUIRED || v.state == a2av1.TaskState_TASK_STATE_AUTH_REQUIRED
}

// stateError is the failure a non-COMPLETED final state stands for.
func (v *taskView) stateError() *TaskStateError {
	return &TaskStateError{TaskID: v.taskID, State: v.state, Message: partsText(v.message.GetParts(), " ")}
}

// outputParts are the parts expressions read: those of the final
// artifacts, or of the reply of an agent that answered with a message.
func (v *taskView) outputParts() [][]*a2av1.Part {
	if v.replied {
		return [][]*a2av1.Part{v.message.GetParts()}
	}
	out := make([][]*a2av1.Part, len(v.artifacts))
	for i, a := range v.artifacts {
		out[i] = a.GetParts()
	}
	return out
}

// output is what expressions can read of the completed task: the text of
// each artifact (its text parts concatenated, as chunks arrive) joined by
// newlines, and the first data part.
func (v *taskView) output() *stepOutput {
	out := &stepOutput{status: StatusCompleted, taskID: v.taskID}
	var texts []string
	for _, parts := range v.outputParts() {
		if t := partsText(parts, ""); t != "" {
			texts = append(texts, t)
		}
		for _, p := range parts {
			if d := p.GetData(); d != nil && !out.hasData {
				out.data, out.hasData = d.AsInterface(), true
			}
		}
	}
	out.text = strings.Join(texts, "\n")
	out.files = v.files()
	return out
}

// files are the file parts (raw bytes or URLs) of the output, for the
// steps that take them with files_from.
func (v *taskView) files() []*a2av1.Part {
	var out []*a2av1.Part
	for _, parts := range v.outputParts() {
		for _, p := range parts {
			switch p.GetContent().(type) {
			case *a2av1.Part_Raw, *a2av1.Part_Url:
				out = append(out, proto.Clone(p).(*a2av1.Part))
			}
		}
	}
	return out
}

// partsText joins the text parts with sep.
func partsText(parts []*a2av1.Part, sep string) string {
	var texts []string
	for _, p := range parts {
		if t, ok := p.GetContent().(*a2av1.Part_Text); ok {
			texts = append(texts, t.Text)
		}
	}
	return strings.Join(texts, sep)
}
