// Command nodeclient shows a polyglot deployment: a Go agent served by
// a2agrpc and a Node.js client written with the A2A project's JavaScript
// SDK (@a2a-js/sdk), which knows nothing of this repository — only the
// A2A protocol and the agent's URL.
//
//	go run ./examples/nodeclient
//
// It starts the echo agent (examples/echo, the agent `a2agrpc serve`
// runs), installs the Node dependencies from the lockfile with `npm ci`
// when they are missing, then runs `node client.mjs <agent URL>`, which
// reads the Agent Card and sends and streams messages over JSON-RPC,
// HTTP+JSON and gRPC. Node.js 20 or newer is required.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/a2agrpc/a2agrpc/examples/echo"
	"github.com/a2agrpc/a2agrpc/server/host"
)

// script is the Node client, in [scriptDir].
const script = "client.mjs"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, scriptDir()); err != nil {
		fmt.Fprintln(os.Stderr, "nodeclient:", err)
		os.Exit(1)
	}
}

// errNoNode says Node.js is not installed: the example cannot run, but
// nothing is broken.
var errNoNode = errors.New("node is not installed (https://nodejs.org)")

// run serves the echo agent, makes sure the Node client's dependencies are
// installed in dir, and runs the client against the agent, copying its
// output to out.
func run(ctx context.Context, out io.Writer, dir string) (err error) {
	if _, err := exec.LookPath("node"); err != nil {
		return errNoNode
	}
	if err := install(ctx, dir); err != nil {
		return err
	}
	agent, err := host.Start(echo.Executor, host.Config{Card: echo.Card(nil)})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, shutdown(agent)) }()
	fmt.Fprintf(out, "Go agent %q serving HTTP at %s and gRPC at %s\n", agent.Card().GetName(), agent.URL(), agent.GRPCAddr())
	return node(ctx, out, dir, script, agent.URL())
}

// scriptDir finds the example's directory: the directory of this source
// file, which go run and go test both compile from, or else the path from
// the repository's root.
func scriptDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Dir(file)
		if _, err := os.Stat(filepath.Join(dir, script)); err == nil {
			return dir
		}
	}
	return filepath.Join("examples", "nodeclient")
}

// install runs `npm ci` in dir unless node_modules already holds what
// package-lock.json pins. npm ci installs exactly the lockfile's versions,
// so the client always runs against the SDK release this example was
// written for. npm records a finished install in node_modules/.package-lock.json;
// a lockfile changed since then means a new install.
func install(ctx context.Context, dir string) error {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	if done, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !done.ModTime().Before(lock.ModTime()) {
		return nil
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	return nil
}

// node runs a Node script in dir with args, its standard output going to
// out. Its standard error is kept for the error message: a failing script
// says why there.
func node(ctx context.Context, out io.Writer, dir string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, &stderr
	cmd.WaitDelay = 5 * time.Second // do not hang on a child that keeps the pipes open
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("node %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

// shutdown stops the agent, giving calls in flight a few seconds.
func shutdown(agent *host.Agent) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return agent.Shutdown(ctx)
}
