package devcert

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes data to path readable by its owner only (0600), because
// the files devcert writes include private keys. A missing parent directory
// is created with 0700. An existing file is truncated and its mode tightened
// to 0600 before anything is written, so the new contents are never
// readable under an older, looser mode.
func WriteFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("devcert: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("devcert: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("devcert: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("devcert: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("devcert: writing %s: %w", path, err)
	}
	return nil
}
