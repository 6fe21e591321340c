// Package promset registers a component's Prometheus collectors as one
// unit: all of them or none, and all of them gone again when the component
// closes. Without it a component whose construction fails half-way leaves
// some series behind, and one that is stopped cannot be built again on the
// same registry ("duplicate metrics collector registration").
package promset

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Set is a group of collectors registered together. A nil *Set is empty,
// so components without metrics need no checks. It is safe for concurrent
// use (a server's Stop may race its Shutdown).
type Set struct {
	reg prometheus.Registerer
	mu  sync.Mutex
	cs  []prometheus.Collector
}

// Register registers every collector with reg. If one fails, those already
// registered are unregistered and the error is returned.
func Register(reg prometheus.Registerer, cs ...prometheus.Collector) (*Set, error) {
	s := &Set{reg: reg}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			s.Unregister()
			return nil, err
		}
		s.cs = append(s.cs, c)
	}
	return s, nil
}

// Unregister removes the set's collectors from the registry; later calls
// do nothing.
func (s *Set) Unregister() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cs {
		s.reg.Unregister(c)
	}
	s.cs = nil
}
