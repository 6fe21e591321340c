// Command mtlsmesh runs a small agent mesh secured by mutual TLS: two
// agents, alice and bob, each serving gRPC (and the mesh stream) and HTTPS,
// each admitting only callers with a certificate from the mesh's CA whose
// SPIFFE ID is an agent of example.org. The agents call each other with
// their own certificates, and each reports the identity it authenticated
// for its caller. Callers without an acceptable certificate are refused.
//
//	go run ./examples/mtlsmesh
//
// The development CA and certificates are made in a temporary directory
// (internal/devcert, as `a2agrpc certs` does) and removed at the end.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/mtls"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := runInTempDir(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mtlsmesh:", err)
		os.Exit(1)
	}
}

// runInTempDir runs the example with its certificates in a fresh
// directory, removed afterwards: the private keys outlive nothing.
func runInTempDir(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp("", "mtlsmesh-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	return run(ctx, out, dir)
}

// run makes the PKI in dir, starts the mesh, makes the calls that work and
// the ones that must not, and prints them all.
func run(ctx context.Context, out io.Writer, dir string) (err error) {
	p, err := makePKI(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "mesh CA and certificates in %s\n", dir)
	m, err := startMesh(ctx, p)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.shutdown()) }()
	for _, n := range m.nodes() {
		fmt.Fprintf(out, "%-5s serves %s and gRPC %s to %s\n", n.name, n.agent.URL(), n.agent.GRPCAddr(), allowPattern)
	}

	exchanges, err := m.converse(ctx, p, client.TransportMesh)
	if err != nil {
		return err
	}
	for _, x := range exchanges {
		fmt.Fprintf(out, "console -> %-5s %-11q %s\n", x.to, x.said, x.answer)
	}
	refusals, err := m.strangers(ctx, p)
	if err != nil {
		return err
	}
	for _, r := range refusals {
		if r.err == nil {
			return fmt.Errorf("%s was admitted over %s", r.who, r.transport)
		}
		fmt.Fprintf(out, "%s -> alice over %s: refused: %v\n", r.who, r.transport, r.err)
	}
	return nil
}

// mesh is the two running agents.
type mesh struct{ alice, bob *node }

// startMesh starts alice and bob and connects each to the other: alice
// calls bob over the mesh stream, bob calls alice over plain gRPC, so both
// paths through the authentication are shown.
func startMesh(ctx context.Context, p *pki) (_ *mesh, err error) {
	m := &mesh{}
	defer func() {
		if err != nil {
			err = errors.Join(err, m.shutdown())
		}
	}()
	if m.alice, err = startNode("alice", p.files("alice")); err != nil {
		return nil, err
	}
	if m.bob, err = startNode("bob", p.files("bob")); err != nil {
		return nil, err
	}
	if err := m.alice.connect(ctx, m.bob, client.TransportMesh); err != nil {
		return nil, err
	}
	if err := m.bob.connect(ctx, m.alice, client.TransportGRPC); err != nil {
		return nil, err
	}
	return m, nil
}

// nodes are the agents that started.
func (m *mesh) nodes() []*node {
	var ns []*node
	for _, n := range []*node{m.alice, m.bob} {
		if n != nil {
			ns = append(ns, n)
		}
	}
	return ns
}

// shutdown stops both agents. The agents' clients of each other close
// first: an agent shutting down asks the clients still connected to its
// HTTPS port to leave (HTTP/2 GOAWAY) and waits a moment for them, so a
// peer's idle connection would only slow the shutdown down.
func (m *mesh) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, n := range m.nodes() {
		errs = append(errs, n.disconnect())
	}
	for _, n := range m.nodes() {
		errs = append(errs, n.stop(ctx))
	}
	return errors.Join(errs...)
}

// exchange is one message from the console and the agent's answer.
type exchange struct{ to, said, answer string }

// converse is the console (an agent identity of the mesh) talking to the
// agents over transport: a ping to alice, then each agent pinging the
// other on the console's behalf.
func (m *mesh) converse(ctx context.Context, p *pki, transport string) ([]exchange, error) {
	console, err := mtls.NewReloader(p.files("console"))
	if err != nil {
		return nil, err
	}
	defer console.Close()
	var xs []exchange
	for _, call := range []struct {
		to   *node
		text string
	}{{m.alice, ping}, {m.alice, pingPeer}, {m.bob, pingPeer}} {
		answer, err := sendOnce(ctx, call.to.agent.URL(), console, transport, call.text)
		if err != nil {
			return nil, fmt.Errorf("console -> %s: %w", call.to.name, err)
		}
		xs = append(xs, exchange{to: call.to.name, said: call.text, answer: answer})
	}
	return xs, nil
}

// refusal is a call by a caller the mesh must not admit, and its error.
type refusal struct {
	who, transport string
	err            error
}

// strangers calls alice as callers she must refuse: one with no client
// certificate (over every transport: the same authentication guards them
// all), one whose certificate comes from another CA, and one with a
// certificate of the mesh CA whose identity is not an agent's.
func (m *mesh) strangers(ctx context.Context, p *pki) ([]refusal, error) {
	callers := []struct {
		who        string
		files      mtls.Files
		transports []string
	}{
		{"no certificate", mtls.Files{CA: p.ca},
			[]string{client.TransportMesh, client.TransportGRPC, client.TransportREST, client.TransportJSONRPC}},
		{"mallory (another CA)", p.files("mallory"), []string{client.TransportGRPC}},
		{"batch (not an agent)", p.files("batch"), []string{client.TransportREST}},
	}
	var rs []refusal
	for _, c := range callers {
		certs, err := mtls.NewReloader(c.files)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.who, err)
		}
		for _, t := range c.transports {
			_, err := sendOnce(ctx, m.alice.agent.URL(), certs, t, ping)
			rs = append(rs, refusal{who: c.who, transport: t, err: err})
		}
		certs.Close()
	}
	return rs, nil
}

// sendOnce connects to the agent at baseURL as the holder of certs, sends
// text and returns the answer.
func sendOnce(ctx context.Context, baseURL string, certs *mtls.Reloader, transport, text string) (string, error) {
	c, err := dial(ctx, baseURL, certs, transport)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return send(ctx, c, text)
}
