package main

import (
	"context"
	"fmt"
	"math"
	"strings"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server"
)

// sentimentArtifact is the id of the sentiment agent's only artifact.
const sentimentArtifact = "sentiment"

// sentimentSkill is the skill of the sentiment agent.
func sentimentSkill() *a2av1.AgentSkill {
	return &a2av1.AgentSkill{
		Id:   "sentiment",
		Name: "Sentiment",
		Description: "Judges whether a text is positive, negative or neutral with a word lexicon and " +
			"simple negation handling. Answers with the label as text and {label, score, positive, negative} as data.",
		Tags:        []string{"documents", "text", "sentiment", "analysis"},
		Examples:    []string{"The new release is fast and not at all buggy."},
		InputModes:  []string{"text/plain"},
		OutputModes: []string{"text/plain", "application/json"},
	}
}

// sentimentScorer is the sentiment agent.
type sentimentScorer struct{}

// Execute implements [server.Executor].
func (sentimentScorer) Execute(_ context.Context, req *server.Request, w *server.TaskWriter) error {
	text := strings.TrimSpace(req.Text())
	if text == "" {
		return w.Reject("send the text to judge")
	}
	if err := w.Working(fmt.Sprintf("weighing %d words against a %d-word lexicon",
		len(words(text)), len(positiveWords)+len(negativeWords))); err != nil {
		return err
	}
	s := scoreSentiment(text)
	a, err := dataArtifact(sentimentArtifact, "Sentiment", s.Label, map[string]any{
		"label": s.Label, "score": s.Score, "positive": s.Positive, "negative": s.Negative,
	})
	if err != nil {
		return err
	}
	return w.Artifact(a)
}

// Sentiment labels.
const (
	labelPositive = "positive"
	labelNegative = "negative"
	labelNeutral  = "neutral"
)

// neutralBand is how far from 0 a score must be to count as positive or
// negative: a text with about as much good as bad to say is mixed, and
// calling it either would overstate what a word count knows.
const neutralBand = 0.2

// negationWindow is how many words before a sentiment word a negator may
// stand and still turn it around ("not very good", "never felt so
// unsafe").
const negationWindow = 3

// sentiment is the verdict on a text.
type sentiment struct {
	Label              string
	Score              float64 // (positive − negative) / (positive + negative), in [−1, 1]; 0 without sentiment words
	Positive, Negative int     // the sentiment words counted each way, after negation
}

// scoreSentiment counts the lexicon's words in text. A word preceded,
// within negationWindow words of its own sentence, by an odd number of
// negators counts the other way: "not good" is negative, "no problems" is
// positive, and "not without problems" (two negators) is still negative.
func scoreSentiment(text string) sentiment {
	var s sentiment
	for _, sent := range sentences(text) {
		ws := words(sent)
		for i, w := range ws {
			polarity := 0
			switch {
			case positiveWords[w]:
				polarity = 1
			case negativeWords[w]:
				polarity = -1
			default:
				continue
			}
			for _, before := range ws[max(0, i-negationWindow):i] {
				if isNegator(before) {
					polarity = -polarity
				}
			}
			if polarity > 0 {
				s.Positive++
			} else {
				s.Negative++
			}
		}
	}
	if n := s.Positive + s.Negative; n > 0 {
		s.Score = math.Round(float64(s.Positive-s.Negative)/float64(n)*100) / 100
	}
	switch {
	case s.Score >= neutralBand:
		s.Label = labelPositive
	case s.Score <= -neutralBand:
		s.Label = labelNegative
	default:
		s.Label = labelNeutral
	}
	return s
}

// isNegator reports whether w negates what follows it.
func isNegator(w string) bool { return negators[w] || strings.HasSuffix(w, "n't") }
