package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/a2agrpc/a2agrpc/auth"
)

// runAPIKey creates an API key for NAME: the key is printed once, for the
// client, and only its hash goes into the server's key file, so a leaked
// key file grants nothing.
func runAPIKey(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apikey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", `append "NAME sha256:<hash>" to this key file (created 0600) instead of printing the line`)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: a2agrpc apikey [-file KEYFILE] NAME")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	name := fs.Arg(0)
	key, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	line := name + " " + auth.HashAPIKey(key) + "\n"
	if *file == "" {
		fmt.Fprintf(stdout, "key (give to the client; shown once): %s\nkey file line: %s", key, line)
		return nil
	}
	// Check the name is new before writing: a duplicate would make the
	// whole file unloadable.
	existing, err := os.ReadFile(*file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(existing) > 0 && existing[len(existing)-1] != '\n' {
		line = "\n" + line
	}
	if _, err := auth.ParseAPIKeys(strings.NewReader(string(existing) + line)); err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	f, err := os.OpenFile(*file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "key (give to the client; shown once): %s\nadded %q to %s\n", key, name, *file)
	return nil
}
