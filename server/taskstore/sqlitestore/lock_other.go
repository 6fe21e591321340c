//go:build !unix && !windows

package sqlitestore

// On platforms without flock or share modes (js, wasip1, plan9) there is no
// portable advisory lock: exclusivity is not enforced, and running two
// processes on one file is the operator's mistake to avoid.
type fileLock struct{}

func acquireLock(string) (*fileLock, error) { return &fileLock{}, nil }

func (*fileLock) release() error { return nil }
