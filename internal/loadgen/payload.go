package loadgen

import (
	"strings"
	"sync/atomic"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Payload is the 200-byte text every target sends (performance.md).
var Payload = strings.Repeat("a2a-grpc", 25)

var seq atomic.Uint64

// newMessage is a user message carrying Payload with a unique id.
func newMessage() *a2av1.SendMessageRequest {
	id := seq.Add(1)
	return &a2av1.SendMessageRequest{Message: &a2av1.Message{
		MessageId: "lg-" + itoa(id),
		Role:      a2av1.Role_ROLE_USER,
		Parts:     []*a2av1.Part{{Content: &a2av1.Part_Text{Text: Payload}}},
	}}
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
