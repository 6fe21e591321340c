package server

import (
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/structpb"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

type textPartAlloc struct {
	p a2av1.Part
	w a2av1.Part_Text
}

// TextPart returns a text part.
func TextPart(text string) *a2av1.Part {
	a := &textPartAlloc{}
	a.w.Text = text
	a.p.Content = &a.w
	return &a.p
}

// DataPart returns a structured-data part holding v, which must be
// representable as JSON (see structpb.NewValue).
func DataPart(v any) (*a2av1.Part, error) {
	val, err := structpb.NewValue(v)
	if err != nil {
		return nil, err
	}
	return &a2av1.Part{Content: &a2av1.Part_Data{Data: val}, MediaType: "application/json"}, nil
}

// AgentMessage returns an agent-authored message with a fresh message id.
// The framework fills in its task and context ids.
func AgentMessage(parts ...*a2av1.Part) *a2av1.Message {
	return &a2av1.Message{MessageId: uuid.NewString(), Role: a2av1.Role_ROLE_AGENT, Parts: parts}
}

type textArtifactAlloc struct {
	a     a2av1.Artifact
	parts [1]*a2av1.Part
	part  textPartAlloc
}

// TextArtifact returns an artifact with one text part.
func TextArtifact(id, text string) *a2av1.Artifact {
	x := &textArtifactAlloc{}
	x.part.w.Text = text
	x.part.p.Content = &x.part.w
	x.parts[0] = &x.part.p
	x.a.ArtifactId, x.a.Parts = id, x.parts[:]
	return &x.a
}
