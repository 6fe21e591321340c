package interop

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// expectedFailure is one entry of expected_failures.yaml.
type expectedFailure struct {
	Peer    string `yaml:"peer"`
	Binding string `yaml:"binding"`
	Check   string `yaml:"check"`
	Reason  string `yaml:"reason"`
	Spec    string `yaml:"spec"`
}

func (e expectedFailure) key() string { return e.Peer + " " + e.Binding + " " + e.Check }

var (
	expectedOnce sync.Once
	expected     map[string]*expectedEntry
	expectedErr  error
)

type expectedEntry struct {
	expectedFailure
	consulted bool
}

// loadExpected reads expected_failures.yaml once; every entry needs a
// reason and a spec reference, and no check may be listed twice.
func loadExpected() (map[string]*expectedEntry, error) {
	expectedOnce.Do(func() {
		raw, err := os.ReadFile("expected_failures.yaml")
		if err != nil {
			expectedErr = err
			return
		}
		var list []expectedFailure
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		if err := dec.Decode(&list); err != nil {
			expectedErr = fmt.Errorf("expected_failures.yaml: %w", err)
			return
		}
		expected = map[string]*expectedEntry{}
		for i, e := range list {
			if e.Peer == "" || e.Binding == "" || e.Check == "" || e.Reason == "" || e.Spec == "" {
				expectedErr = fmt.Errorf("expected_failures.yaml: entry %d needs peer, binding, check, reason and spec", i+1)
				return
			}
			if _, dup := expected[e.key()]; dup {
				expectedErr = fmt.Errorf("expected_failures.yaml: %s is listed twice", e.key())
				return
			}
			expected[e.key()] = &expectedEntry{expectedFailure: e}
		}
	})
	return expected, expectedErr
}

var consultedMu sync.Mutex

// outcome records the result of one interop check: a failure fails the
// test unless expected_failures.yaml lists it, and a listed check that
// passes fails the test too, so the file never goes stale. It reports
// whether the check passed.
func outcome(t *testing.T, peer, binding, check string, failure error) bool {
	t.Helper()
	list, err := loadExpected()
	if err != nil {
		t.Fatal(err)
	}
	consultedMu.Lock()
	e := list[peer+" "+binding+" "+check]
	if e != nil {
		e.consulted = true
	}
	consultedMu.Unlock()
	switch {
	case e == nil && failure != nil:
		t.Errorf("%s over %s: %s: %v", peer, binding, check, failure)
	case e != nil && failure == nil:
		t.Errorf("%s over %s: %s passes but expected_failures.yaml says it fails (%s): remove the entry", peer, binding, check, e.Reason)
	case e != nil:
		t.Logf("expected failure: %s over %s: %s: %v (%s; spec %s)", peer, binding, check, failure, e.Reason, e.Spec)
	}
	return failure == nil
}

// TestMain fails the run when an expected failure was never consulted by
// a test that ran in full: a renamed or deleted check must take its entry
// with it.
func TestMain(m *testing.M) {
	code := m.Run()
	removeBuilds()
	if code == 0 && !testingShortOrFiltered() {
		list, err := loadExpected()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, e := range list {
			if !e.consulted {
				fmt.Fprintf(os.Stderr, "expected_failures.yaml: %s was not checked by any test: remove the entry\n", e.key())
				code = 1
			}
		}
	}
	os.Exit(code)
}

// testingShortOrFiltered reports whether only part of the suite ran (-run
// or -short), when unconsulted entries prove nothing.
func testingShortOrFiltered() bool {
	if testing.Short() {
		return true
	}
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.run") || strings.HasPrefix(a, "-test.skip") {
			return true
		}
	}
	return false
}
