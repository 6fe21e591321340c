//go:build windows

package sqlitestore

import (
	"errors"
	"fmt"
	"syscall"
)

// fileLock holds the sidecar file open with no sharing allowed: every other
// open of it fails with a sharing violation until this handle is closed,
// which Windows does when the process exits, however it exits.
type fileLock struct{ h syscall.Handle }

const errSharingViolation syscall.Errno = 32

func acquireLock(path string) (*fileLock, error) {
	name, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: lock file name: %w", err)
	}
	h, err := syscall.CreateFile(name, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
		syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if errors.Is(err, errSharingViolation) {
			return nil, fmt.Errorf("%w (lock %s is held)", ErrLocked, path)
		}
		return nil, fmt.Errorf("sqlitestore: opening lock file: %w", err)
	}
	return &fileLock{h: h}, nil
}

func (l *fileLock) release() error { return syscall.CloseHandle(l.h) }
