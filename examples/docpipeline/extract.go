package main

import (
	"context"
	"fmt"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// Artifact ids of extract-text: the clean text and its statistics.
const (
	textArtifact  = "text"
	statsArtifact = "stats"
)

// extractSkill is the skill of the extract-text agent.
func extractSkill() *a2av1.AgentSkill {
	return &a2av1.AgentSkill{
		Id:   "extract-text",
		Name: "Extract text",
		Description: "Turns a document (plain text, Markdown or HTML) into clean prose: markup stripped, " +
			"whitespace normalised, paragraphs kept. Also reports the counts of words, sentences and paragraphs.",
		Tags:     []string{"documents", "text", "extraction"},
		Examples: []string{"<h1>Report</h1><p>Sales grew by a tenth.</p>"},
		// The data part carries the optional {"format": "html"|"markdown"|"text"}.
		InputModes:  []string{"text/plain", "text/markdown", "text/html", "application/json"},
		OutputModes: []string{"text/plain", "application/json"},
	}
}

// extractor is the extract-text agent. It is the first step of the
// pipeline and its gatekeeper: a document with no text is rejected here,
// so that the steps after it never run on nothing.
type extractor struct{}

// Execute implements [server.Executor].
func (extractor) Execute(_ context.Context, req *server.Request, w *server.TaskWriter) error {
	doc := req.Text()
	format, _ := settings(req)["format"].(string)
	text, used, err := cleanText(doc, format)
	if err != nil {
		return w.Reject(err.Error())
	}
	if text == "" {
		return w.Reject("the document holds no text")
	}
	paras, sents, nwords := len(paragraphs(text)), len(sentences(text)), len(words(text))
	if err := w.Working(fmt.Sprintf("read %d bytes of %s: %d words, %d sentences", len(doc), used, nwords, sents)); err != nil {
		return err
	}
	clean := server.TextArtifact(textArtifact, text)
	clean.Name = "Text"
	if err := w.Artifact(clean); err != nil {
		return err
	}
	stats, err := dataArtifact(statsArtifact, "Statistics", "", map[string]any{
		"format": used, "words": nwords, "sentences": sents, "paragraphs": paras,
	})
	if err != nil {
		return err
	}
	return w.Artifact(stats) // returning nil then completes the task
}
