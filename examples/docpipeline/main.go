// Command docpipeline runs a document pipeline on A2A agents found through
// the discovery registry: one agent extracts the text of a document, then
// two more, in parallel, judge its sentiment and summarize it.
//
//	go run ./examples/docpipeline [-json] [-sentences N] [FILE]
//
// FILE is plain text, Markdown or HTML (default: a built-in Markdown
// report). Everything runs in this one process on loopback ports, wired
// as separate processes would be: an in-memory registry; three agents
// that register themselves with it on start and deregister on shutdown;
// a router that resolves capabilities through a watch of the registry;
// and a workflow, in YAML, whose steps name capabilities, not addresses.
// Each event of the workflow is printed as it happens, then the result.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/a2agrpc/a2agrpc/workflow"
)

// summaryDelay is the summarize agent's pause before each sentence of the
// summary in the demo: slow enough to watch it stream in while the other
// steps are done.
const summaryDelay = 300 * time.Millisecond

// sampleDocument is the document used when no file is given.
//
//go:embed sample.md
var sampleDocument string

func main() {
	asJSON := flag.Bool("json", false, "print each event, then the result, as a JSON line")
	n := flag.Int("sentences", defaultSummarySentences, "sentences in the summary (1 to 20)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: docpipeline [flags] [FILE]\n\n"+
			"Extracts the text of FILE (plain text, Markdown or HTML; default: a built-in sample),\n"+
			"then judges its sentiment and summarizes it, with three agents found through a registry.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	doc, err := readDocument(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "docpipeline:", err)
		os.Exit(2)
	}
	doc.Sentences = *n

	// Ctrl-C ends ctx: the run cancels its remote tasks and the agents
	// deregister as they stop.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, doc, config{json: *asJSON, summaryDelay: summaryDelay}); err != nil {
		fmt.Fprintln(os.Stderr, "docpipeline:", err)
		if errors.Is(err, context.Canceled) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

// document is a document to process and where it came from.
type document struct {
	input
	name string
}

// readDocument reads the file at path, or returns the sample for "". The
// file's extension names its format; without a known one, extract-text
// detects it.
func readDocument(path string) (document, error) {
	if path == "" {
		return document{input: input{Document: sampleDocument, Format: formatMarkdown}, name: "built-in sample (sample.md)"}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return document{}, err
	}
	var format string
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		format = formatHTML
	case ".md", ".markdown":
		format = formatMarkdown
	case ".txt":
		format = formatText
	}
	return document{input: input{Document: string(b), Format: format}, name: path}, nil
}

// config is how run shows the run and how fast the demo goes.
type config struct {
	json         bool
	summaryDelay time.Duration
}

// run starts the registry and the agents, waits until the router can see
// every agent the workflow needs, runs the workflow over doc while
// printing its events to out, and stops everything, the agents first so
// that out shows them gone from the registry. The run's error is a
// *workflow.StepError naming the step when a step failed.
func run(ctx context.Context, out io.Writer, doc document, cfg config) (err error) {
	def, err := definition()
	if err != nil {
		return err
	}
	if doc.Sentences == 0 {
		doc.Sentences = defaultSummarySentences
	}
	pr := &printer{w: out, json: cfg.json}
	p, err := startPipeline(cfg.summaryDelay)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, p.shutdown()) }()

	pr.note("document  %s (%d bytes)", doc.name, len(doc.Document))
	pr.note("registry  %s", p.registry.Addr())
	ids, err := p.registered(ctx)
	if err != nil {
		return err
	}
	pr.note("          registered: %s", strings.Join(ids, ", "))
	found, err := p.waitReady(ctx, capabilities(def))
	if err != nil {
		return err
	}
	for _, b := range found {
		pr.note("resolved  %s -> agent %s at %s", workflow.Target{Capability: b.filter}, b.agent, b.url)
	}

	pr.note("workflow  %s", def.Name)
	pr.start = time.Now()
	res, runErr := p.process(ctx, def, doc.input, pr.event)
	if res == nil {
		return runErr
	}
	if err := pr.result(def.Name, res, runErr); err != nil {
		return errors.Join(runErr, err)
	}

	if err := p.stopAgents(); err != nil {
		return errors.Join(runErr, err)
	}
	// A fresh context: after Ctrl-C, the count is still worth showing.
	left, err := p.registered(context.Background())
	if err != nil {
		return errors.Join(runErr, err)
	}
	pr.note("registry  agents stopped and deregistered; %d registrations left", len(left))
	return runErr
}
