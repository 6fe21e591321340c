package main

import (
	"slices"
	"strings"
	"testing"
)

// The agents' logic, without the network: each case is one rule the
// documentation of cleanText, sentences, words, scoreSentiment or
// summarize states.

func TestCleanTextMarkdown(t *testing.T) {
	doc := "# Title ##\n\n" +
		"Some *emphasis*, **strong**, `code`, a [link](http://x) and ![alt](y.png).\n" +
		"The same paragraph, with snake_case, _under_ and \\*escaped\\* stars.\n\n" +
		"```go\nfunc main() {}\n```\n\n" +
		"- item one\n* item two\n1. numbered\n\n" +
		"> quoted text\n> continues\n\n---\nSetext\n======\n[ref]: http://example.org\nC# &amp; F#."
	want := "Title\n\n" +
		"Some emphasis, strong, code, a link and alt. The same paragraph, with snake_case, under and *escaped* stars.\n\n" +
		"item one\n\nitem two\n\nnumbered\n\nquoted text continues\n\nSetext\n\nC# & F#."
	got, format, err := cleanText(doc, "")
	if err != nil || format != formatMarkdown || got != want {
		t.Errorf("cleanText = %q, %s, %v\nwant %q", got, format, err, want)
	}
}

func TestCleanTextHTML(t *testing.T) {
	doc := `<html><head><title>Hidden</title><meta charset="utf-8"></head><body>
<h1>Heading</h1><p>One <b>bold</b>  word,<br>a break &amp; an&nbsp;entity.</p>
<!-- a comment > with a bracket --><div data-x="a > b">Block</div>
<script>if (a > b) { hidden() }</script><ul><li>first</li><li>second</li></ul></body></html>`
	want := "Heading\n\nOne bold word, a break & an entity.\n\nBlock\n\nfirst\n\nsecond"
	got, format, err := cleanText(doc, "")
	if err != nil || format != formatHTML || got != want {
		t.Errorf("cleanText = %q, %s, %v\nwant %q", got, format, err, want)
	}
	// As plain text, nothing is stripped.
	if got, _, _ := cleanText("<b>*kept*</b>", formatText); got != "<b>*kept*</b>" {
		t.Errorf("format text: %q", got)
	}
	if _, _, err := cleanText("x", "pdf"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestSentences(t *testing.T) {
	text := "A heading\n\nDr. Smith met J. Doe at 3.5 km from here. He said \"Hello!\" Then he left... " +
		"Was it fun? Yes, e.g. this one. It ended."
	want := []string{"A heading", "Dr. Smith met J. Doe at 3.5 km from here.", `He said "Hello!"`, "Then he left...",
		"Was it fun?", "Yes, e.g. this one.", "It ended."}
	if got := sentences(text); !slices.Equal(got, want) {
		t.Errorf("sentences =\n%q\nwant\n%q", got, want)
	}
}

func TestWords(t *testing.T) {
	got := words("Don’t stop—the first-year report isn't 'quoted' - ok, 3.5 or 1,200.")
	want := []string{"don't", "stop", "the", "first-year", "report", "isn't", "quoted", "ok", "3.5", "or", "1,200"}
	if !slices.Equal(got, want) {
		t.Errorf("words = %q, want %q", got, want)
	}
}

func TestScoreSentiment(t *testing.T) {
	for _, c := range []struct {
		text     string
		pos, neg int
		label    string
		score    float64
	}{
		{"A great, reliable and fast service.", 3, 0, labelPositive, 1},
		{"It is not good.", 0, 1, labelNegative, -1},
		{"We had no problems at all.", 1, 0, labelPositive, 1},
		{"It was not without problems.", 0, 1, labelNegative, -1}, // two negators cancel
		{"Not bad. Good.", 2, 0, labelPositive, 1},
		{"Not. Bad.", 0, 1, labelNegative, -1}, // negation stops at the sentence's end
		{"The staff didn't seem helpful.", 0, 1, labelNegative, -1},
		{"Great food, terrible service.", 1, 1, labelNeutral, 0},
		{"Great food, slow and costly service, poor parking.", 1, 3, labelNegative, -0.5},
		{"The meeting is on Tuesday.", 0, 0, labelNeutral, 0},
	} {
		s := scoreSentiment(c.text)
		if s.Positive != c.pos || s.Negative != c.neg || s.Label != c.label || s.Score != c.score {
			t.Errorf("%q: %+v, want %d positive, %d negative, %s %v", c.text, s, c.pos, c.neg, c.label, c.score)
		}
	}
}

func TestSummarize(t *testing.T) {
	all := sentences("Solar power\n\n" +
		"Solar panels turn light into power. " +
		"The weather was mild this spring. " +
		"Cheap solar panels make solar power popular. " +
		"Birds sang in the morning.")
	// "solar" occurs 4 times, "power" and "panels" 3 and 2, the rest once;
	// the heading does not compete while full sentences do.
	if got, want := summarize(all, 2), []string{"Solar panels turn light into power.", "Cheap solar panels make solar power popular."}; !slices.Equal(got, want) {
		t.Errorf("summarize(2) = %q, want %q", got, want)
	}
	if got := summarize(all, 10); len(got) != 4 || got[0] != all[1] {
		t.Errorf("summarize(10) = %q: want the four full sentences in order", got)
	}
	// With nothing but headings, a heading is better than nothing.
	if got := summarize(sentences("Just a title"), 3); !slices.Equal(got, []string{"Just a title"}) {
		t.Errorf("summarize(heading) = %q", got)
	}
	// Ties go to the earlier sentence, on every run.
	tied := sentences("Apples are red fruit here. Pears are green fruit here. Plums are blue fruit here.")
	for range 5 {
		if got := summarize(tied, 1); !slices.Equal(got, tied[:1]) {
			t.Fatalf("tie: %q", got)
		}
	}
}

// TestSample keeps the built-in sample honest: it reads as Markdown, is
// positive, and its summary quotes full sentences, not headings.
func TestSample(t *testing.T) {
	text, _, err := cleanText(sampleDocument, formatMarkdown)
	if err != nil || strings.ContainsAny(text, "*#[]") {
		t.Fatalf("sample: %v\n%s", err, text)
	}
	if s := scoreSentiment(text); s.Label != labelPositive {
		t.Errorf("sample sentiment %+v", s)
	}
	for _, s := range summarize(sentences(text), defaultSummarySentences) {
		if !endsSentence(s) {
			t.Errorf("summary quotes %q", s)
		}
	}
}
