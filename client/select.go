package client

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// choice is the interface a client talks to and how.
type choice struct {
	transport string // one of the Transport* names
	iface     *a2av1.AgentInterface
}

// choose picks, in preference order, the first transport the card
// advertises with a protocol version this client speaks. The mesh needs a
// gRPC interface and the mesh extension in the card's capabilities.
func choose(card *a2av1.AgentCard, prefs []string) (choice, error) {
	mesh := slices.ContainsFunc(card.GetCapabilities().GetExtensions(), func(e *a2av1.AgentExtension) bool {
		return e.GetUri() == a2agrpc.MeshExtensionURI
	})
	for _, want := range prefs {
		binding := want
		if want == TransportMesh {
			if !mesh {
				continue
			}
			binding = TransportGRPC
		}
		for _, i := range card.GetSupportedInterfaces() {
			if strings.EqualFold(i.GetProtocolBinding(), binding) && speaks(i.GetProtocolVersion()) && i.GetUrl() != "" {
				return choice{transport: want, iface: i}, nil
			}
		}
	}
	var offered []string
	for _, i := range card.GetSupportedInterfaces() {
		offered = append(offered, fmt.Sprintf("%s %s (v%s)", i.GetProtocolBinding(), i.GetUrl(), i.GetProtocolVersion()))
	}
	return choice{}, fmt.Errorf("client: agent %q offers no transport among %v that speaks A2A %s; it offers %v",
		card.GetName(), prefs, a2agrpc.ProtocolVersion, offered)
}

// speaks accepts the interfaces of this major version; an interface that
// states no version is assumed current.
func speaks(v string) bool {
	v = strings.TrimSpace(v)
	return v == "" || v == "1" || strings.HasPrefix(v, "1.")
}

// grpcTarget turns a gRPC interface URL into a dial target and whether the
// URL itself asks for TLS. The card gives "host:port"; schemes that other
// SDKs write (grpc://, grpcs://, https://, http://) are accepted too.
func grpcTarget(raw string) (target string, tls bool, err error) {
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return "", false, fmt.Errorf("client: gRPC interface URL %q is not host:port", raw)
		}
		switch u.Scheme {
		case "grpcs", "https":
			tls = true
		case "grpc", "http":
		default:
			return "", false, fmt.Errorf("client: gRPC interface URL %q has an unknown scheme", raw)
		}
		raw = u.Host
	}
	if _, port, err := net.SplitHostPort(raw); err != nil || port == "" {
		return "", false, fmt.Errorf("client: gRPC interface URL %q is not host:port", raw)
	}
	return raw, tls, nil
}

// anyHTTPS reports whether the card publishes an https interface: an agent
// that serves HTTP over TLS serves gRPC over TLS too.
func anyHTTPS(card *a2av1.AgentCard) bool {
	return slices.ContainsFunc(card.GetSupportedInterfaces(), func(i *a2av1.AgentInterface) bool {
		return strings.HasPrefix(strings.ToLower(i.GetUrl()), "https://")
	})
}
