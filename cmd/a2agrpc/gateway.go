package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/client"
	"github.com/a2agrpc/a2agrpc/gateway"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
	"github.com/a2agrpc/a2agrpc/server/httpserver"
)

// runGateway serves the HTTP bindings of an A2A agent reached over gRPC.
func runGateway(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gateway", "", stderr)
	target := fs.String("target", "", "host:port of the A2A gRPC agent to front (required)")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "HTTP listen address")
	advertise := fs.String("advertise-http", "", "base URL put in the Agent Card (default: http(s)://<listen address>)")
	cardFile := fs.String("card", "", "JSON Agent Card describing the agent (name, skills, capabilities); its interfaces are replaced by the gateway's. Default: a minimal card with streaming on")
	forward := fs.String("forward", strings.Join(gateway.DefaultForward, ","), "request headers passed on to the agent")
	certFile := fs.String("tls-cert", "", "PEM certificate: serve HTTPS")
	keyFile := fs.String("tls-key", "", "PEM private key of -tls-cert")
	var up clientFlags // TLS towards the agent
	fs.StringVar(&up.ca, "ca", "", "PEM CA bundle verifying the agent's certificate (implies TLS to the agent)")
	fs.StringVar(&up.cert, "cert", "", "PEM client certificate presented to the agent (mutual TLS)")
	fs.StringVar(&up.key, "key", "", "PEM private key of -cert")
	fs.StringVar(&up.serverName, "server-name", "", "name verified in the agent's certificate (implies TLS)")
	if err := flagsFromEnv(fs); err != nil {
		fmt.Fprintln(stderr, "a2agrpc:", err)
		return errUsage
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *target == "" {
		fs.Usage()
		return usageError{errors.New("gateway: -target is required")}
	}
	var serveTLS *tls.Config
	if *certFile != "" || *keyFile != "" {
		pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return usageError{fmt.Errorf("-tls-cert/-tls-key: %w", err)}
		}
		serveTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	}
	upTLS, err := up.tlsConfig()
	if err != nil {
		return usageError{err}
	}
	lis, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return err
	}
	defer lis.Close()
	base := strings.TrimRight(*advertise, "/")
	if base == "" {
		base = "http://" + lis.Addr().String()
		if serveTLS != nil {
			base = "https://" + lis.Addr().String()
		}
	}
	card, err := gatewayCard(*cardFile, *target, base)
	if err != nil {
		return err
	}
	agent := &a2av1.AgentCard{Name: card.GetName(), SupportedInterfaces: []*a2av1.AgentInterface{
		{Url: *target, ProtocolBinding: a2agrpc.BindingGRPC, ProtocolVersion: a2agrpc.ProtocolVersion}}}
	var opts []client.Option
	if upTLS != nil {
		opts = append(opts, client.WithTLS(upTLS))
	}
	remote, err := gateway.NewRemote(agent, card, opts...)
	if err != nil {
		return err
	}
	defer remote.Close()
	fwd := a2agrpc.SplitList(*forward)
	if fwd == nil {
		fwd = []string{} // -forward "": pass nothing on
	}
	h, err := gateway.New(remote, fwd)
	if err != nil {
		return err
	}
	web := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: serveTLS}
	served := make(chan error, 1)
	go func() {
		if serveTLS != nil {
			served <- web.ServeTLS(lis, "", "")
		} else {
			served <- web.Serve(lis)
		}
	}()
	fmt.Fprintf(stdout, "a2agrpc: gateway for the gRPC agent at %s: HTTP+JSON, JSON-RPC (%s) and the Agent Card on %s\n",
		*target, httpserver.JSONRPCPath, base)
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := web.Shutdown(sctx); err != nil {
		web.Close()
	}
	return nil
}

// gatewayCard is the card the gateway serves: the given one (or a minimal
// one) with the gateway's own interfaces.
func gatewayCard(file, target, base string) (*a2av1.AgentCard, error) {
	card := &a2av1.AgentCard{
		Name:               "A2A agent at " + target,
		Description:        "An A2A gRPC agent served over HTTP by the a2agrpc gateway.",
		Version:            "1.0.0",
		Capabilities:       &a2av1.AgentCapabilities{Streaming: proto.Bool(true)},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
	}
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-card: %w", err)
		}
		card = &a2av1.AgentCard{}
		if err := a2ajson.Unmarshal(raw, card); err != nil {
			return nil, fmt.Errorf("-card: %s is not an Agent Card: %w", file, err)
		}
	}
	v := a2agrpc.ProtocolVersion
	card.SupportedInterfaces = []*a2av1.AgentInterface{
		{Url: base, ProtocolBinding: a2agrpc.BindingREST, ProtocolVersion: v},
		{Url: base + httpserver.JSONRPCPath, ProtocolBinding: a2agrpc.BindingJSONRPC, ProtocolVersion: v},
	}
	card.Signatures = nil // a signature over the agent's own card no longer matches
	return card, nil
}
