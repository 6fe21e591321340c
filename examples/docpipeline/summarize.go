package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// summaryArtifact is the id of the summarize agent's only artifact.
const summaryArtifact = "summary"

// Summary lengths, in sentences.
const (
	defaultSummarySentences = 3
	maxSummarySentences     = 20
)

// minSummaryWords is the shortest sentence worth quoting in a summary:
// headings and fragments carry the document's key words densely but say
// little on their own.
const minSummaryWords = 5

// summarizeSkill is the skill of the summarize agent.
func summarizeSkill() *a2av1.AgentSkill {
	return &a2av1.AgentSkill{
		Id:   "summarize",
		Name: "Summarize",
		Description: "Extractive summary: quotes the sentences that use the text's most frequent words, " +
			"in their original order, streamed one sentence at a time. Send {\"sentences\": N} as data to choose how many.",
		Tags:        []string{"documents", "text", "summarization"},
		Examples:    []string{"A long article to boil down to three sentences."},
		InputModes:  []string{"text/plain", "application/json"},
		OutputModes: []string{"text/plain"},
	}
}

// summarizer is the summarize agent. It streams its summary one sentence
// per artifact chunk, so a caller watching the task sees it grow.
type summarizer struct {
	// delay is the pause before each chunk, standing in for the time a
	// real summarizer (a language model, say) takes per sentence.
	delay time.Duration
}

// Execute implements [server.Executor].
func (s summarizer) Execute(ctx context.Context, req *server.Request, w *server.TaskWriter) error {
	text := strings.TrimSpace(req.Text())
	if text == "" {
		return w.Reject("send the text to summarize")
	}
	n := defaultSummarySentences
	if v, ok := settings(req)["sentences"]; ok {
		f, isNum := v.(float64)
		if !isNum || f != float64(int(f)) || f < 1 || f > maxSummarySentences {
			return w.Reject(fmt.Sprintf("sentences must be a whole number from 1 to %d, not %v", maxSummarySentences, v))
		}
		n = int(f)
	}
	all := sentences(text)
	summary := summarize(all, n)
	if err := w.Working(fmt.Sprintf("ranked %d sentences; keeping %d", len(all), len(summary))); err != nil {
		return err
	}
	for i, sent := range summary {
		if err := sleep(ctx, s.delay); err != nil {
			return err // canceled: the task is canceled already, or the agent is stopping
		}
		if i > 0 {
			sent = " " + sent // chunks are concatenated: keep the sentences apart
		}
		chunk := server.TextArtifact(summaryArtifact, sent)
		chunk.Name = "Summary"
		// The first chunk creates the artifact, later ones append to it,
		// and the last one says it is whole.
		if err := w.ArtifactChunk(chunk, i > 0, i == len(summary)-1); err != nil {
			return err
		}
	}
	return nil
}

// summarize picks the n sentences that best represent the text and
// returns them in their original order.
//
// A word's weight is how often it occurs in the whole text, stop words
// left out, relative to the most frequent word; a sentence's score is the
// mean weight of its words, i.e. how much of it is about what the text
// keeps coming back to. Headings (no final punctuation), sentences
// shorter than minSummaryWords and those made of stop words only compete
// only when nothing else does; ties go to the earlier sentence, so the
// result is deterministic.
func summarize(all []string, n int) []string {
	freq := map[string]int{}
	content := make([][]string, len(all))
	for i, s := range all {
		for _, w := range words(s) {
			if !stopWords[w] && !isNumber(w) {
				content[i] = append(content[i], w)
				freq[w]++
			}
		}
	}
	top := 0
	for _, f := range freq {
		top = max(top, f)
	}
	type ranked struct {
		index int
		score float64
	}
	var candidates []ranked
	for _, strict := range []bool{true, false} {
		for i, s := range all {
			if strict && (len(words(s)) < minSummaryWords || len(content[i]) == 0 || !endsSentence(s)) {
				continue
			}
			score := 0.0
			if len(content[i]) > 0 {
				sum := 0
				for _, w := range content[i] {
					sum += freq[w]
				}
				score = float64(sum) / float64(top*len(content[i]))
			}
			candidates = append(candidates, ranked{i, score})
		}
		if len(candidates) > 0 {
			break
		}
	}
	slices.SortStableFunc(candidates, func(a, b ranked) int { return cmp.Compare(b.score, a.score) })
	candidates = candidates[:min(n, len(candidates))]
	slices.SortFunc(candidates, func(a, b ranked) int { return cmp.Compare(a.index, b.index) })
	out := make([]string, len(candidates))
	for i, c := range candidates {
		out[i] = all[c.index]
	}
	return out
}

// isNumber reports whether w is a figure ("2024", "3.5"): figures say
// little about what a text is about, and a repeated one would outweigh
// real words.
func isNumber(w string) bool {
	return strings.IndexFunc(w, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != ',' }) < 0
}

// endsSentence reports whether s ends as a sentence does, with '.', '!'
// or '?' (and perhaps closing quotes or brackets), unlike a heading.
func endsSentence(s string) bool {
	s = strings.TrimRight(s, `"')]”’»`)
	return strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?")
}
