package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	"github.com/a2agrpc/a2agrpc/router"
	"github.com/a2agrpc/a2agrpc/workflow"
)

// pipelineYAML is the workflow, kept in YAML rather than built in Go so
// that it reads as what it is: the same file runs with
// `a2agrpc workflow run -registry ADDR` against agents anywhere.
//
//go:embed pipeline.yaml
var pipelineYAML []byte

// definition parses and validates the embedded workflow.
func definition() (*workflow.Definition, error) {
	def, err := workflow.Parse(pipelineYAML)
	if err != nil {
		return nil, fmt.Errorf("pipeline.yaml: %w", err)
	}
	return def, nil
}

// capabilities are the filters of the definition's capability steps, each
// once: what the registry must offer before the workflow can run.
func capabilities(def *workflow.Definition) []*registryv1.AgentFilter {
	var out []*registryv1.AgentFilter
	for _, s := range def.Steps {
		if s.Target.Capability != nil {
			out = append(out, s.Target.Capability)
		}
	}
	return out
}

// input is the workflow's input: what ${input.…} reads.
type input struct {
	Document  string `json:"document"`
	Format    string `json:"format"` // html, markdown, text, or "" to detect
	Sentences int    `json:"sentences"`
}

// process runs the workflow over in, calling show with each event as it
// happens, and returns the run's result. Steps go through the router
// only (workflow.Routed, not combined with Direct): a step naming an agent
// URL would be refused, so every agent this run reaches was found through
// the registry.
func (p *pipeline) process(ctx context.Context, def *workflow.Definition, in input, show func(workflow.Event) error) (*workflow.Result, error) {
	run, err := workflow.Start(ctx, def, in, workflow.Routed(p.router, router.Policy{}))
	if err != nil {
		return nil, err
	}
	var showErr error
	for ev := range run.Events() {
		if showErr = show(ev); showErr != nil {
			break // the run goes on without an audience; Wait has its outcome
		}
	}
	res, err := run.Wait()
	return res, errors.Join(err, showErr)
}
