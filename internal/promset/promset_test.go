package promset_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/a2agrpc/a2agrpc/internal/promset"
)

func counter(name string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: name})
}

func TestRegisterIsAllOrNone(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(counter("taken_total"))
	if _, err := promset.Register(reg, counter("first_total"), counter("taken_total")); err == nil {
		t.Fatal("registering a duplicate succeeded")
	}
	if names := gathered(t, reg); len(names) != 1 || names[0] != "taken_total" {
		t.Fatalf("after the failure the registry holds %v, want only taken_total", names)
	}
	// The name is free again.
	if _, err := promset.Register(reg, counter("first_total")); err != nil {
		t.Fatalf("re-registering: %v", err)
	}
}

func TestUnregisterFreesTheNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := promset.Register(reg, counter("a_total"), counter("b_total"))
	if err != nil {
		t.Fatal(err)
	}
	s.Unregister()
	s.Unregister()
	var none *promset.Set
	none.Unregister()
	if names := gathered(t, reg); len(names) != 0 {
		t.Fatalf("%v left after Unregister", names)
	}
	if _, err := promset.Register(reg, counter("a_total"), counter("b_total")); err != nil {
		t.Fatalf("names not freed by Unregister: %v", err)
	}
}

// gathered lists the metric families reg holds.
func gathered(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	return names
}
