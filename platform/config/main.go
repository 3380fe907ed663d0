package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Command is one subcommand of a program: `catalogue backup ...` runs the Command named "backup" with the
// arguments after its name.
type Command struct {
	Name string
	Run  func(ctx context.Context, args []string) error
}

// Main is the whole main() of every program of the suite: it runs the command that os.Args picks under a
// context cancelled by SIGINT or SIGTERM (so a service drains and closes its store), prints "<name>: <error>"
// on stderr and exits 1 when the command fails. A --help (flag.ErrHelp) is not a failure: the flag set has
// already printed its usage. cmds[0] is the default command (serve); see Dispatch.
func Main(name string, cmds ...Command) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := Exec(ctx, name, os.Args[1:], os.Stderr, cmds...)
	stop()
	if code != 0 {
		os.Exit(code)
	}
}

// Exec is Main without the process: it dispatches args to cmds and returns the exit code (0 or 1), printing a
// failure as "<name>: <error>" on stderr.
func Exec(ctx context.Context, name string, args []string, stderr io.Writer, cmds ...Command) int {
	err := Dispatch(ctx, args, cmds...)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
	return 0
}

// Dispatch runs the command named by the first argument when it is not a flag, with the arguments after it;
// otherwise cmds[0] with all of them (so `catalogue --data-dir X` serves). An unknown name is refused, naming
// the choices. A program with a single command takes no subcommand at all: every argument goes to it, so a
// stray word is the flag set's "unexpected argument", not an unknown command.
func Dispatch(ctx context.Context, args []string, cmds ...Command) error {
	if len(cmds) == 0 {
		return errors.New("no command")
	}
	if len(cmds) == 1 || len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return cmds[0].Run(ctx, args)
	}
	for _, c := range cmds {
		if c.Name == args[0] {
			return c.Run(ctx, args[1:])
		}
	}
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name
	}
	want := names[len(names)-1]
	if len(names) > 1 {
		want = strings.Join(names[:len(names)-1], ", ") + " or " + want
	}
	return fmt.Errorf("unknown command %q (want %s)", args[0], want)
}
