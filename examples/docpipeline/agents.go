package main

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// What the three agents share: how their cards are made and how they read
// the settings that come beside a message's text.

// agent is one of the example's agents: how it works and how it describes
// itself.
type agent struct {
	exec server.Executor
	card *a2av1.AgentCard
}

// agents are the three agents of the pipeline. delay is the pause between
// the summary's chunks.
func agents(delay time.Duration) []agent {
	return []agent{
		{extractor{}, card(extractSkill())},
		{sentimentScorer{}, card(sentimentSkill())},
		{summarizer{delay: delay}, card(summarizeSkill())},
	}
}

// card describes an agent offering the one skill: the skill's id is the
// capability the workflow asks the registry for, and its modes are what
// the registry's filters and the agent's input checks compare against.
// host fills in the interfaces, the addresses the router will dial.
func card(skill *a2av1.AgentSkill) *a2av1.AgentCard {
	return &a2av1.AgentCard{
		Name: skill.GetId(), Description: skill.GetDescription(), Version: "1.0.0",
		Capabilities:       &a2av1.AgentCapabilities{Streaming: proto.Bool(true)},
		DefaultInputModes:  skill.GetInputModes(),
		DefaultOutputModes: skill.GetOutputModes(),
		Skills:             []*a2av1.AgentSkill{skill},
	}
}

// settings reads the message's first data part as a JSON object: the
// options a caller sends beside the text (nil without one).
func settings(req *server.Request) map[string]any {
	for _, p := range req.Message.GetParts() {
		if d := p.GetData(); d != nil {
			if m, ok := d.AsInterface().(map[string]any); ok {
				return m
			}
		}
	}
	return nil
}

// dataArtifact is an artifact whose parts are an optional text and one
// data part holding v.
func dataArtifact(id, name, text string, v map[string]any) (*a2av1.Artifact, error) {
	data, err := server.DataPart(v)
	if err != nil {
		return nil, err
	}
	a := &a2av1.Artifact{ArtifactId: id, Name: name}
	if text != "" {
		a.Parts = append(a.Parts, server.TextPart(text))
	}
	a.Parts = append(a.Parts, data)
	return a, nil
}

// sleep waits d, or less if ctx ends first (the task was canceled or the
// agent is shutting down).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
