package main

import (
	"cmp"
	"fmt"
	"io"
	"strings"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
)

// printer writes what the client commands show: ProtoJSON with -json (one
// object per line, so streams are NDJSON), text for people otherwise.
type printer struct {
	w       io.Writer
	json    bool
	midLine bool // an artifact is being printed chunk by chunk
}

// json prints m as one line of ProtoJSON.
func (p *printer) proto(m proto.Message) error {
	b, err := a2ajson.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.w, "%s\n", b)
	return err
}

func stateName(s a2av1.TaskState) string { return strings.TrimPrefix(s.String(), "TASK_STATE_") }

// partsText joins the text of parts; other kinds are named.
func partsText(parts []*a2av1.Part) string {
	var b strings.Builder
	for _, p := range parts {
		switch {
		case p.GetText() != "":
			b.WriteString(p.GetText())
		case p.GetData() != nil:
			b.WriteString("[data]")
		case p.GetUrl() != "" || p.GetRaw() != nil:
			fmt.Fprintf(&b, "[file %s]", cmp.Or(p.GetFilename(), p.GetUrl(), p.GetMediaType()))
		}
	}
	return b.String()
}

// task prints a task: header, status message, artifacts.
func (p *printer) task(t *a2av1.Task) error {
	if p.json {
		return p.proto(t)
	}
	fmt.Fprintf(p.w, "task %s (context %s): %s\n", t.GetId(), t.GetContextId(), stateName(t.GetStatus().GetState()))
	if m := t.GetStatus().GetMessage(); m != nil {
		fmt.Fprintf(p.w, "  %s: %s\n", roleName(m.GetRole()), partsText(m.GetParts()))
	}
	for _, a := range t.GetArtifacts() {
		fmt.Fprintf(p.w, "  artifact %s: %s\n", cmp.Or(a.GetName(), a.GetArtifactId()), partsText(a.GetParts()))
	}
	if n := len(t.GetHistory()); n > 0 {
		fmt.Fprintf(p.w, "  history: %d messages\n", n)
	}
	return nil
}

func roleName(r a2av1.Role) string {
	if r == a2av1.Role_ROLE_USER {
		return "user"
	}
	return "agent"
}

// event prints one stream event; artifact chunks continue the line of the
// artifact they extend, so text streams as it arrives.
func (p *printer) event(ev *a2av1.StreamResponse) error {
	if p.json {
		return p.proto(ev)
	}
	if ev.GetArtifactUpdate() == nil && p.midLine {
		fmt.Fprintln(p.w)
		p.midLine = false
	}
	switch {
	case ev.GetTask() != nil:
		return p.task(ev.GetTask())
	case ev.GetMessage() != nil:
		fmt.Fprintf(p.w, "%s: %s\n", roleName(ev.GetMessage().GetRole()), partsText(ev.GetMessage().GetParts()))
	case ev.GetStatusUpdate() != nil:
		st := ev.GetStatusUpdate().GetStatus()
		fmt.Fprintf(p.w, "[%s]", stateName(st.GetState()))
		if m := st.GetMessage(); m != nil {
			fmt.Fprintf(p.w, " %s", partsText(m.GetParts()))
		}
		fmt.Fprintln(p.w)
	case ev.GetArtifactUpdate() != nil:
		u := ev.GetArtifactUpdate()
		a := u.GetArtifact()
		if !u.GetAppend() || !p.midLine {
			if p.midLine {
				fmt.Fprintln(p.w)
			}
			fmt.Fprintf(p.w, "artifact %s: ", cmp.Or(a.GetName(), a.GetArtifactId()))
		}
		fmt.Fprint(p.w, partsText(a.GetParts()))
		p.midLine = !u.GetLastChunk()
		if u.GetLastChunk() {
			fmt.Fprintln(p.w)
		}
	}
	return nil
}

// finish ends a line left open by an unfinished artifact.
func (p *printer) finish() {
	if p.midLine {
		fmt.Fprintln(p.w)
		p.midLine = false
	}
}
