package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Limits on what a registration may carry. The registry keeps every
// registration in memory on every replica and sends it to every watcher,
// so a caller must not be able to make one arbitrarily large.
const (
	// MaxAgentIDLen bounds agent_id.
	MaxAgentIDLen = 128
	// maxLabels, maxLabelKeyLen and maxLabelValueLen bound labels.
	maxLabels        = 64
	maxLabelKeyLen   = 128
	maxLabelValueLen = 1024
	// maxInterfaces bounds the card's supported interfaces.
	maxInterfaces = 32
	// maxCardURLLen bounds card_url.
	maxCardURLLen = 2048
)

// validAgentID reports whether id can name a registration: 1 to
// [MaxAgentIDLen] ASCII letters, digits, '.', '_' and '-', starting with a
// letter or digit. Ids appear in REST paths (/v1/agents/{agent_id}), so
// they must need no escaping there.
func validAgentID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("is empty")
	case len(id) > MaxAgentIDLen:
		return fmt.Errorf("is longer than %d characters", MaxAgentIDLen)
	case !isAlnum(id[0]):
		return fmt.Errorf("must start with a letter or digit")
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("may hold only letters, digits, '.', '_' and '-', not %q", rune(c))
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// checkAgentID is validAgentID as the error a request gets.
func checkAgentID(id string) error {
	if err := validAgentID(id); err != nil {
		return a2agrpc.InvalidParams("agentId", "%v", err)
	}
	return nil
}

// checkCard refuses a card the registry could not route to: it needs a
// name and at least one supported interface with a URL.
func checkCard(card *a2av1.AgentCard) error {
	if strings.TrimSpace(card.GetName()) == "" {
		return a2agrpc.InvalidParams("card.name", "is required")
	}
	ifaces := card.GetSupportedInterfaces()
	if len(ifaces) == 0 {
		return a2agrpc.InvalidParams("card.supportedInterfaces", "must name at least one interface")
	}
	if len(ifaces) > maxInterfaces {
		return a2agrpc.InvalidParams("card.supportedInterfaces", "has %d interfaces, at most %d are accepted", len(ifaces), maxInterfaces)
	}
	for i, iface := range ifaces {
		if strings.TrimSpace(iface.GetUrl()) == "" {
			return a2agrpc.InvalidParams(fmt.Sprintf("card.supportedInterfaces[%d].url", i), "is required")
		}
		if strings.TrimSpace(iface.GetProtocolBinding()) == "" {
			return a2agrpc.InvalidParams(fmt.Sprintf("card.supportedInterfaces[%d].protocolBinding", i), "is required")
		}
	}
	return nil
}

// checkLabels bounds the labels' number and size.
func checkLabels(labels map[string]string) error {
	if len(labels) > maxLabels {
		return a2agrpc.InvalidParams("labels", "has %d entries, at most %d are accepted", len(labels), maxLabels)
	}
	for k, v := range labels {
		switch {
		case k == "" || len(k) > maxLabelKeyLen || !utf8.ValidString(k):
			return a2agrpc.InvalidParams("labels", "keys must be 1 to %d bytes of UTF-8", maxLabelKeyLen)
		case len(v) > maxLabelValueLen || !utf8.ValidString(v):
			return a2agrpc.InvalidParams("labels", "the value of %q must be at most %d bytes of UTF-8", k, maxLabelValueLen)
		}
	}
	return nil
}

// maxSlugLen bounds the readable part of a derived agent id.
const maxSlugLen = 48

// DeriveAgentID is the agent_id of a registration that names none: a
// readable slug of the card's first supported interface URL (scheme
// dropped, lower-cased, every run of other characters turned into '-',
// at most 48 characters) and the first 8 hex digits of the URL's SHA-256,
// e.g. "127-0-0-1-50051-1f0c3a9e" for "127.0.0.1:50051". The URL is what
// tells one running instance from another, so the same instance
// registering again (after a restart, or after its lease expired) keeps
// one registration, and two instances of one agent get two; the hash keeps
// URLs that slug alike apart. "" if the card has no interface.
func DeriveAgentID(card *a2av1.AgentCard) string {
	ifaces := card.GetSupportedInterfaces()
	if len(ifaces) == 0 || ifaces[0].GetUrl() == "" {
		return ""
	}
	u := strings.TrimSpace(ifaces[0].GetUrl())
	sum := sha256.Sum256([]byte(u))
	rest := u
	if _, after, ok := strings.Cut(u, "://"); ok {
		rest = after
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(rest) {
		if r < 128 && isAlnum(byte(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= maxSlugLen {
				break
			}
			continue
		}
		dash = true
	}
	slug := b.String()
	if slug == "" {
		slug = "agent"
	}
	return slug + "-" + hex.EncodeToString(sum[:4])
}
