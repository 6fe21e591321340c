package webhook

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// post sends one request through c and returns the status or the error.
func post(t *testing.T, c *http.Client, u string) (int, error) {
	t.Helper()
	resp, err := c.Post(u, ContentType, strings.NewReader("{}"))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestClientRefusesLoopbackAtConnectTime(t *testing.T) {
	rc := newReceiver(t, nil)
	port := rc.srv.Listener.Addr().(*net.TCPAddr).Port
	c := NewClient(Policy{}, ClientOptions{})
	defer c.CloseIdleConnections()

	// The client does not look at the URL: every refusal below comes from
	// the dialer, on the address it was about to connect to. "localhost"
	// goes through name resolution first, as a rebinding name would.
	for _, u := range []string{
		rc.url("/hook"),
		"http://localhost:" + strconv.Itoa(port) + "/hook",
		"http://[::ffff:127.0.0.1]:" + strconv.Itoa(port) + "/hook",
	} {
		_, err := post(t, c, u)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("POST %s = %v, want ErrRefused", u, err)
		}
	}
	if n, c := len(rc.requests()), rc.connections(); n != 0 || c != 0 {
		t.Errorf("refused receiver got %d requests on %d connections", n, c)
	}
}

func TestClientAllowList(t *testing.T) {
	rc := newReceiver(t, nil)
	port := rc.srv.Listener.Addr().(*net.TCPAddr).Port

	byAddr := NewClient(loopbackPolicy(t), ClientOptions{})
	defer byAddr.CloseIdleConnections()
	if code, err := post(t, byAddr, rc.url("/hook")); err != nil || code != 200 {
		t.Errorf("allow-listed address: %d, %v", code, err)
	}

	byName := NewClient(Policy{AllowHosts: []string{"localhost"}}, ClientOptions{})
	defer byName.CloseIdleConnections()
	if code, err := post(t, byName, "http://localhost:"+strconv.Itoa(port)+"/hook"); err != nil || code != 200 {
		t.Errorf("allow-listed host name: %d, %v", code, err)
	}
	// The name is trusted, not the address behind it.
	if _, err := post(t, byName, rc.url("/hook")); !errors.Is(err, ErrRefused) {
		t.Errorf("address of an allow-listed name, used directly: %v, want ErrRefused", err)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	target := newReceiver(t, nil)
	port := target.srv.Listener.Addr().(*net.TCPAddr).Port
	for _, location := range []string{
		target.url("/allowed-but-still-not-followed"),
		"http://localhost:" + strconv.Itoa(port) + "/refused",
		"http://[::1]:" + strconv.Itoa(port) + "/refused",
	} {
		source := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, location, http.StatusTemporaryRedirect)
		})
		c := NewClient(loopbackPolicy(t), ClientOptions{})
		req, _ := http.NewRequest(http.MethodPost, source.url("/hook"), strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+testCredentials)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.CloseIdleConnections()
		if resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("redirect to %s: status %d, want the 307 itself", location, resp.StatusCode)
		}
	}
	if n := len(target.requests()); n != 0 {
		t.Errorf("redirect target got %d requests", n)
	}
}

func TestClientIgnoresEnvironmentProxy(t *testing.T) {
	proxy := newReceiver(t, nil)
	t.Setenv("HTTP_PROXY", proxy.url(""))
	t.Setenv("http_proxy", proxy.url(""))
	rc := newReceiver(t, nil)
	c := NewClient(loopbackPolicy(t), ClientOptions{})
	defer c.CloseIdleConnections()
	if code, err := post(t, c, rc.url("/hook")); err != nil || code != 200 {
		t.Fatalf("POST = %d, %v", code, err)
	}
	if len(proxy.requests()) != 0 || len(rc.requests()) != 1 {
		t.Errorf("proxy got %d requests, receiver %d; want 0 and 1", len(proxy.requests()), len(rc.requests()))
	}
}

func TestClientConfiguredProxyMustPassPolicy(t *testing.T) {
	proxy := newReceiver(t, nil)
	proxyURL, _ := url.Parse(proxy.url(""))
	c := NewClient(Policy{}, ClientOptions{Proxy: http.ProxyURL(proxyURL)})
	defer c.CloseIdleConnections()
	if _, err := post(t, c, "http://example.com/hook"); !errors.Is(err, ErrRefused) {
		t.Errorf("proxy on a refused address: %v, want ErrRefused", err)
	}
	if proxy.connections() != 0 {
		t.Error("the refused proxy was contacted")
	}
}
