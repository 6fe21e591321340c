package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
)

// The wire format of a push notification (A2A v1.0 §12).
const (
	// ContentType is the media type of a notification body: one
	// StreamResponse in ProtoJSON, without any envelope.
	ContentType = "application/a2a+json"
	// TokenHeader and LegacyTokenHeader both carry the config's token.
	// A2A 1.0 does not name the header and SDKs disagree, so every
	// notification carries both and receivers may read either.
	TokenHeader       = "A2A-Notification-Token"
	LegacyTokenHeader = "X-A2A-Notification-Token"
)

// userAgent identifies notifications in receivers' logs.
const userAgent = "a2agrpc-webhook/1"

// newRequest builds the POST that delivers ev to the webhook cfg names.
// Its errors are permanent: the same config and event would fail the same
// way on every attempt.
func newRequest(ctx context.Context, cfg *a2av1.TaskPushNotificationConfig, ev *a2av1.StreamResponse) (*http.Request, error) {
	if ev.GetPayload() == nil {
		return nil, permanent(errors.New("the queued event is empty"))
	}
	body, err := a2ajson.Marshal(ev)
	if err != nil {
		return nil, permanent(fmt.Errorf("encoding the event: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.GetUrl(), bytes.NewReader(body))
	if err != nil {
		// The error would quote the URL; it was validated already, so
		// this is unexpected and the detail is not worth the leak.
		return nil, permanent(fmt.Errorf("%w: it cannot be used for a request", ErrInvalidURL))
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", userAgent)
	if auth := cfg.GetAuthentication(); auth.GetScheme() != "" {
		value := auth.GetScheme()
		if cred := auth.GetCredentials(); cred != "" {
			value += " " + cred
		}
		if !validHeaderValue(value) {
			return nil, permanent(errors.New("the authentication scheme or credentials contain characters not allowed in a header"))
		}
		req.Header.Set("Authorization", value)
	}
	if token := cfg.GetToken(); token != "" {
		if !validHeaderValue(token) {
			return nil, permanent(errors.New("the token contains characters not allowed in a header"))
		}
		req.Header.Set(TokenHeader, token)
		req.Header.Set(LegacyTokenHeader, token)
	}
	return req, nil
}

// validHeaderValue reports whether v can be sent as a header value (RFC
// 9110 field-value: no control characters but tab). Checking here rather
// than letting the transport fail keeps the secret out of any error text
// and makes the failure permanent instead of retried.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
