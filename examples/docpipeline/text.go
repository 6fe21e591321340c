package main

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The text helpers every agent shares. They are the one definition of a
// word, a sentence and a paragraph in this example, so that the word count
// extract-text reports is the count the other two agents see.

// paragraphBreak separates paragraphs: a blank line, possibly holding
// spaces.
var paragraphBreak = regexp.MustCompile(`\n[ \t\r\f\v]*\n`)

// paragraphs splits text at blank lines and collapses the whitespace
// inside each paragraph to single spaces; empty paragraphs are dropped.
func paragraphs(text string) []string {
	var out []string
	for _, p := range paragraphBreak.Split(text, -1) {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// words splits s into lower-cased words: runs of letters and digits, with
// an apostrophe or hyphen between two such characters kept, so that
// "don't" stays one word (the sentiment agent needs to see its negation)
// and "first-year" counts once, and a point or comma between digits kept
// ("3.5", "1,200"). Typographic apostrophes become ASCII ones.
func words(s string) []string {
	var out []string
	var w strings.Builder
	flush := func() {
		if w.Len() > 0 {
			out = append(out, w.String())
			w.Reset()
		}
	}
	for i, r := range s {
		switch {
		case isWordRune(r):
			w.WriteRune(unicode.ToLower(r))
		case (r == '\'' || r == '’' || r == '-') && w.Len() > 0 && isWordRune(runeAt(s, i+utf8.RuneLen(r))):
			if r == '’' {
				r = '\''
			}
			w.WriteRune(r)
		case (r == '.' || r == ',') && i > 0 && isDigit(s[i-1]) && isDigit(at(s, i+1)):
			w.WriteRune(r) // 3.5 and 1,200 are one word
		default:
			flush()
		}
	}
	flush()
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// runeAt is the rune starting at byte i of s (utf8.RuneError past the end).
func runeAt(s string, i int) rune {
	r, _ := utf8.DecodeRuneInString(s[min(i, len(s)):])
	return r
}

// sentences splits text into sentences: every paragraph ends one (so a
// heading without a full stop is a sentence of its own), and inside a
// paragraph a sentence ends at '.', '!' or '?' (with any closing quotes
// or brackets) followed by a space and something other than a lower-case
// letter, unless the full stop ends a known abbreviation or an initial.
// It is a heuristic, good enough for prose; it is deterministic, which is
// what the rest of the pipeline needs.
func sentences(text string) []string {
	var out []string
	for _, p := range paragraphs(text) {
		out = append(out, splitParagraph(p)...)
	}
	return out
}

// closers may follow a sentence's final punctuation and belong to it.
var closers = []string{`"`, `'`, `)`, `]`, `”`, `’`, `»`}

func splitParagraph(p string) []string {
	var out []string
	start := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		end := i + 1
		for end < len(p) && strings.IndexByte(".!?", p[end]) >= 0 {
			end++ // "?!", "..."
		}
		end = skipClosers(p, end)
		next := runeAt(p, end+1)
		boundary := end < len(p) && p[end] == ' ' && !unicode.IsLower(next)
		if boundary && c == '.' && end == i+1 && isAbbreviation(p[start:i]) {
			boundary = false
		}
		if boundary {
			out = append(out, strings.TrimSpace(p[start:end]))
			start = end + 1
		}
		i = end - 1
	}
	if rest := strings.TrimSpace(p[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

func skipClosers(p string, i int) int {
	for {
		found := false
		for _, c := range closers {
			if strings.HasPrefix(p[i:], c) {
				i += len(c)
				found = true
			}
		}
		if !found {
			return i
		}
	}
}

// abbreviations end with a full stop that does not end the sentence.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "st": true,
	"vs": true, "e.g": true, "i.e": true, "fig": true, "approx": true,
}

// isAbbreviation reports whether before, the text up to a full stop, ends
// with an abbreviation or a single-letter initial ("J. Smith").
func isAbbreviation(before string) bool {
	last := before[strings.LastIndexByte(before, ' ')+1:]
	last = strings.ToLower(strings.TrimLeft(last, `("'[“‘`))
	return abbreviations[last] || utf8.RuneCountInString(last) == 1 && unicode.IsLetter(runeAt(last, 0))
}

// stopWords are the words too common to say what a text is about; the
// summarizer ignores them when it weighs sentences.
var stopWords = setOf(`a about above after again against all also am an and any are as at be
because been before being below between both but by can could did do does doing down during
each few for from further had has have having he her here hers herself him himself his how i
if in into is it its itself just let me more most my myself no nor not now of off on once only
or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up upon us
very was we were what when where which while who whom why will with would you your yours
yourself yourselves it's don't isn't wasn't aren't weren't can't won't doesn't didn't i'm
i've we're we've they're they've there's that's`)

// setOf makes a set of the whitespace-separated words of list.
func setOf(list string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Fields(list) {
		set[w] = true
	}
	return set
}
