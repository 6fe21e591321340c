// Command a2agrpc is the a2agrpc command line: it runs A2A agents and talks
// to them. Run "a2agrpc help" for the list of commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "a2agrpc:", err)
		}
		os.Exit(2)
	}
}

// errUsage reports a command line that could not be parsed; the usage text
// has already been printed.
var errUsage = errors.New("usage")

// run is main without the process: tests call it with their own arguments
// and writers.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return errUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return nil
	}
	cmd, ok := commands()[name]
	if !ok {
		fmt.Fprintf(stderr, "a2agrpc: unknown command %q\n\n", name)
		usage(stderr)
		return errUsage
	}
	return cmd.run(ctx, rest, stdout, stderr)
}
