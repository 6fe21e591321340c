package main

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// The document formats extract-text reads.
const (
	formatHTML     = "html"
	formatMarkdown = "markdown"
	formatText     = "text"
)

// cleanText turns a document into plain prose: the markup of format
// (formatHTML, formatMarkdown, formatText, or "" to detect it) removed,
// whitespace collapsed inside paragraphs, and paragraphs separated by one
// blank line. It returns the format it read the document as.
func cleanText(doc, format string) (text, used string, err error) {
	switch format {
	case "", "auto":
		format = detectFormat(doc)
	case formatHTML, formatMarkdown, formatText:
	default:
		return "", "", fmt.Errorf("unknown format %q (want %s, %s or %s)", format, formatHTML, formatMarkdown, formatText)
	}
	switch format {
	case formatHTML:
		doc = htmlText(doc)
	case formatMarkdown:
		doc = markdownText(doc)
	}
	return strings.Join(paragraphs(doc), "\n\n"), format, nil
}

// htmlSignature is a tag only an HTML document would hold.
var htmlSignature = regexp.MustCompile(`(?i)<(!doctype|html|head|body|p|div|br|h[1-6]|article|section|span|ul|ol|li|table)\b`)

// detectFormat tells HTML from the rest. Anything else is read as
// Markdown: plain prose is Markdown without markup, so stripping it finds
// little to strip.
func detectFormat(doc string) string {
	if htmlSignature.MatchString(doc) {
		return formatHTML
	}
	return formatMarkdown
}

// htmlBlocks are the elements that begin and end a paragraph (or a line,
// for br, which paragraphs then joins with a space).
var htmlBlocks = setOf(`address article aside blockquote dd div dl dt figcaption figure footer
form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table td th tr ul`)

// htmlHidden are the elements whose content is not part of the text a
// reader sees.
var htmlHidden = setOf(`head script style noscript template svg iframe title`)

// htmlText is the visible text of an HTML document, with paragraph breaks
// where block elements begin and end. The tokenizer, not a regular
// expression, finds the tags, so a '>' inside an attribute or a comment
// cannot leak markup into the text, and it decodes entities.
func htmlText(doc string) string {
	z := html.NewTokenizer(strings.NewReader(doc))
	var b strings.Builder
	hidden := 0 // the depth of hidden elements we are in
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String() // io.EOF: a string reader fails no other way
		case html.TextToken:
			if hidden == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch {
			case tag == "body":
				hidden = 0 // a head left open ends here
			case htmlHidden[tag] && tt == html.StartTagToken:
				hidden++
			case htmlHidden[tag] && tt == html.EndTagToken:
				hidden = max(hidden-1, 0)
			case tag == "br":
				b.WriteString("\n")
			case htmlBlocks[tag]:
				b.WriteString("\n\n")
			}
		}
	}
}

// Markdown's line-level markup.
var (
	mdFence         = regexp.MustCompile("^(```|~~~)")
	mdRule          = regexp.MustCompile(`^([-*_=]\s*){3,}$`) // a thematic break or a setext underline
	mdLinkDef       = regexp.MustCompile(`^\[[^\]]+\]:\s`)
	mdHeading       = regexp.MustCompile(`^#{1,6}(\s+|$)`)
	mdClosingHashes = regexp.MustCompile(`(^|\s+)#+\s*$`) // of "## Title ##"
	mdListItem      = regexp.MustCompile(`^([-*+]|\d{1,9}[.)])\s+`)
	mdBlockQuote    = regexp.MustCompile(`^(>\s?)+`)
)

// markdownText strips Markdown markup line by line. Fenced code is
// dropped: it is not prose, and its identifiers would skew the word
// counts the other agents rely on. Headings and list items become
// paragraphs of their own, since they seldom end with a full stop and
// would otherwise run into the next sentence.
func markdownText(doc string) string {
	var b strings.Builder
	fence := "" // the fence of the code block we are in
	for line := range strings.Lines(doc) {
		line = strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(line, fence) {
				fence = ""
			}
			continue
		}
		if m := mdFence.FindString(line); m != "" {
			fence = m
			b.WriteString("\n\n")
			continue
		}
		if mdRule.MatchString(line) {
			b.WriteString("\n\n")
			continue
		}
		if mdLinkDef.MatchString(line) {
			continue
		}
		line = mdBlockQuote.ReplaceAllString(line, "")
		heading, item := mdHeading.MatchString(line), mdListItem.MatchString(line)
		if heading {
			line = mdClosingHashes.ReplaceAllString(mdHeading.ReplaceAllString(line, ""), "")
		}
		if item {
			line = mdListItem.ReplaceAllString(line, "")
		}
		own := heading || item
		line = markdownInline(line)
		if own {
			b.WriteString("\n\n" + line + "\n\n")
		} else {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// Markdown's inline markup, replaced in order by what a reader sees: the
// alt text of images and the text of links (before emphasis, so that a
// link's brackets are gone), then emphasis, code spans and stray HTML.
var mdInline = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`), "$1"},
	{regexp.MustCompile(`\[([^\]]+)\]\([^)]*\)`), "$1"},
	{regexp.MustCompile(`\[([^\]]+)\]\[[^\]]*\]`), "$1"},
	{regexp.MustCompile(`<(https?://[^>\s]+)>`), "$1"},
	{regexp.MustCompile("`+([^`]*)`+"), "$1"},
	{regexp.MustCompile(`~~(.+?)~~`), "$1"},
	{regexp.MustCompile(`\*\*(.+?)\*\*`), "$1"},
	{regexp.MustCompile(`__(.+?)__`), "$1"},
	{regexp.MustCompile(`\*([^*\s](?:[^*]*[^*\s])?)\*`), "$1"},
	{regexp.MustCompile(`(^|[^\pL\pN])_([^_\s](?:[^_]*[^_\s])?)_([^\pL\pN]|$)`), "$1$2$3"},
	{regexp.MustCompile(`</?[a-zA-Z][^>]*>`), ""},
}

// mdEscapable are the characters a backslash makes literal.
const mdEscapable = "\\`*_{}[]()#+-.!<>~|"

// mdEscaped stands for the i-th character of mdEscapable while the inline
// rules run: a rune of the private use area, which no rule matches.
const mdEscaped = '\uE000'

// markdownInline strips the inline markup of one line. Backslash escapes
// are set aside first, so that "\*" stays a literal star whatever the
// emphasis rules would make of it.
func markdownInline(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		if j := strings.IndexByte(mdEscapable, at(line, i+1)); line[i] == '\\' && j >= 0 {
			b.WriteRune(mdEscaped + rune(j))
			i++
			continue
		}
		b.WriteByte(line[i])
	}
	line = b.String()
	for _, r := range mdInline {
		line = r.re.ReplaceAllString(line, r.with)
	}
	line = strings.Map(func(r rune) rune {
		if j := int(r - mdEscaped); j >= 0 && j < len(mdEscapable) {
			return rune(mdEscapable[j])
		}
		return r
	}, line)
	return html.UnescapeString(line)
}

// at is the byte at i, or 0 past the end.
func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}
