package webhook

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want error // nil, ErrInvalidURL or ErrRefused
	}{
		{"https://example.com/hook", nil},
		{"http://example.com:8080/a/b?c=d", nil},
		{"HTTPS://Example.COM./hook", nil},
		{"https://93.184.216.34/hook", nil},
		{"https://[2606:4700:4700::1111]:443/", nil},
		{"https://xn--bcher-kva.example/", nil},

		{"", ErrInvalidURL},
		{"ftp://example.com/", ErrInvalidURL},
		{"file:///etc/passwd", ErrInvalidURL},
		{"javascript:alert(1)", ErrInvalidURL},
		{"gopher://example.com/", ErrInvalidURL},
		{"example.com/hook", ErrInvalidURL},
		{"//example.com/hook", ErrInvalidURL},
		{"http:example.com", ErrInvalidURL},
		{"https:///hook", ErrInvalidURL},
		{"https://user:pass@example.com/", ErrInvalidURL},
		{"https://user@example.com/", ErrInvalidURL},
		{"https://example.com:0/", ErrInvalidURL},
		{"https://example.com:99999/", ErrInvalidURL},
		{"https://exa mple.com/", ErrInvalidURL},
		{"https://example..com/", ErrInvalidURL},
		{"http://%zz/", ErrInvalidURL},
		{"https://" + strings.Repeat("a", 2100) + ".com/", ErrInvalidURL},
		// Legacy numeric forms some resolvers read as 127.0.0.1.
		{"http://127.1/", ErrInvalidURL},
		{"http://2130706433/", ErrInvalidURL},
		{"http://0x7f.0.0.1/", ErrInvalidURL},
		{"http://0x7f000001/", ErrInvalidURL},
		{"http://0177.0.0.1/", ErrInvalidURL},
		{"http://1.2.3.4.5/", ErrInvalidURL},

		{"http://localhost/", ErrRefused},
		{"http://LOCALHOST.:8080/", ErrRefused},
		{"http://api.localhost/", ErrRefused},
		{"http://127.0.0.1:9000/", ErrRefused},
		{"http://[::1]/", ErrRefused},
		{"http://[::ffff:127.0.0.1]/", ErrRefused},
		{"http://[::ffff:7f00:1]/", ErrRefused},
		{"http://169.254.169.254/latest/meta-data/", ErrRefused},
		{"http://10.0.0.1/", ErrRefused},
		{"http://100.64.1.1/", ErrRefused},
		{"http://0.0.0.0/", ErrRefused},
		{"http://[fe80::1%25eth0]/", ErrRefused},
		{"http://[fd12::1]/", ErrRefused},
		{"http://224.0.0.1/", ErrRefused},
	} {
		err := Policy{}.ValidateURL(tc.url)
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("ValidateURL(%q) = %v, want nil", tc.url, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("ValidateURL(%q) = %v, want %v", tc.url, err, tc.want)
		}
	}
}

func TestValidateURLPolicy(t *testing.T) {
	p, err := NewPolicy("127.0.0.1/32", "hooks.internal")
	if err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{"http://127.0.0.1:8080/", "http://[::ffff:127.0.0.1]/", "http://hooks.internal/x"} {
		if err := p.ValidateURL(ok); err != nil {
			t.Errorf("allow-listed %q: %v", ok, err)
		}
	}
	if err := p.ValidateURL("http://127.0.0.2/"); !errors.Is(err, ErrRefused) {
		t.Errorf("127.0.0.2 outside the allow-list: %v", err)
	}
	p.RequireHTTPS = true
	if err := p.ValidateURL("http://example.com/"); !errors.Is(err, ErrInvalidURL) {
		t.Errorf("http with RequireHTTPS: %v", err)
	}
	if err := p.ValidateURL("https://example.com/"); err != nil {
		t.Errorf("https with RequireHTTPS: %v", err)
	}
}

func TestValidateURLErrorsOmitPathAndQuery(t *testing.T) {
	for _, u := range []string{
		"http://127.0.0.1" + testSecretPath + "?k=" + testToken,
		"ftp://example.com" + testSecretPath,
		"http://user:" + testToken + "@example.com/",
		"http://%zz" + testSecretPath,
	} {
		err := Policy{}.ValidateURL(u)
		if err == nil {
			t.Fatalf("ValidateURL(%q) = nil", u)
		}
		if msg := err.Error(); strings.Contains(msg, testSecretPath) || strings.Contains(msg, testToken) {
			t.Errorf("error %q repeats a secret part of the URL", msg)
		}
	}
}
