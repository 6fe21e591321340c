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

	"github.com/a2agrpc/a2agrpc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "a2agrpc:", err)
		}
		os.Exit(exitCode(err))
	}
}

// errUsage reports a command line that could not be parsed; the usage text
// has already been printed.
var errUsage = errors.New("usage")

// usageError is a command line that parsed but makes no sense; it exits
// like errUsage, with its message.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Exit codes, the same for every command (see usage).
const (
	exitFailure     = 1 // the agent answered with an error, or something else failed
	exitUsage       = 2 // the command line is wrong
	exitUnreachable = 3 // the agent could not be reached, or did not answer in time
	exitTaskFailed  = 4 // the task ended FAILED, REJECTED or CANCELED
	exitDenied      = 5 // the agent refused the credentials
)

// taskEnded reports a task that ended unsuccessfully: the call worked, the
// work did not.
type taskEnded struct{ id, state string }

func (e taskEnded) Error() string { return fmt.Sprintf("task %s ended %s", e.id, e.state) }

func exitCode(err error) int {
	var te taskEnded
	var ue usageError
	switch {
	case errors.Is(err, errUsage), errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &te):
		return exitTaskFailed
	case errors.Is(err, a2agrpc.ErrUnavailable), a2agrpc.AsError(err).Reason == a2agrpc.ReasonDeadlineExceeded:
		return exitUnreachable
	case errors.Is(err, a2agrpc.ErrUnauthenticated), errors.Is(err, a2agrpc.ErrUnauthorized):
		return exitDenied
	}
	return exitFailure
}

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
