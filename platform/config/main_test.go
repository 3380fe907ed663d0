package config

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

// TestExec runs a three-command program the way Main does and checks which command ran with which arguments,
// what reached stderr and the exit code.
func TestExec(t *testing.T) {
	type call struct {
		cmd  string
		args string
	}
	tests := []struct {
		name     string
		args     []string
		single   bool // the program has only its default command, like the gateway
		wantCall *call
		wantCode int
		wantErr  string // on stderr; empty means nothing printed
	}{
		{name: "no arguments serve", args: nil, wantCall: &call{"serve", ""}},
		{name: "a flag first serves with it", args: []string{"--dir", "x"}, wantCall: &call{"serve", "--dir x"}},
		{name: "named default", args: []string{"serve", "--dir", "x"}, wantCall: &call{"serve", "--dir x"}},
		{name: "subcommand gets the rest", args: []string{"backup", "--dir", "y"}, wantCall: &call{"backup", "--dir y"}},
		{name: "last subcommand", args: []string{"restore"}, wantCall: &call{"restore", ""}},
		{name: "unknown command names the choices", args: []string{"bakup"}, wantCode: 1,
			wantErr: `prog: unknown command "bakup" (want serve, backup or restore)` + "\n"},
		{name: "help exits 0 silently", args: []string{"backup", "--help"}, wantCall: &call{"backup", "--help"}},
		{name: "failure exits 1 naming the program", args: []string{"restore", "--fail"}, wantCall: &call{"restore", "--fail"},
			wantCode: 1, wantErr: "prog: restore failed\n"},
		{name: "flag error exits 1", args: []string{"--nope"}, wantCall: &call{"serve", "--nope"}, wantCode: 1,
			wantErr: "prog: flag provided but not defined: -nope\n"},
		{name: "single command takes every argument", args: []string{"stray"}, single: true,
			wantCall: &call{"serve", "stray"}, wantCode: 1, wantErr: "prog: unexpected argument \"stray\"\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *call
			cmd := func(name string) Command {
				return Command{Name: name, Run: func(_ context.Context, args []string) error {
					got = &call{name, strings.Join(args, " ")}
					fs := flag.NewFlagSet(name, flag.ContinueOnError)
					fs.SetOutput(io.Discard)
					fs.String("dir", "", "")
					fail := fs.Bool("fail", false, "")
					if err := Parse(fs, args, func(string) string { return "" }); err != nil {
						return err
					}
					if *fail {
						return errors.New(name + " failed")
					}
					return nil
				}}
			}
			cmds := []Command{cmd("serve"), cmd("backup"), cmd("restore")}
			if tc.single {
				cmds = cmds[:1]
			}
			var stderr bytes.Buffer
			code := Exec(context.Background(), "prog", tc.args, &stderr, cmds...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d", code, tc.wantCode)
			}
			if stderr.String() != tc.wantErr {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.wantErr)
			}
			switch {
			case tc.wantCall == nil && got != nil:
				t.Errorf("ran %+v, want nothing run", *got)
			case tc.wantCall != nil && got == nil:
				t.Errorf("ran nothing, want %+v", *tc.wantCall)
			case tc.wantCall != nil && *got != *tc.wantCall:
				t.Errorf("ran %+v, want %+v", *got, *tc.wantCall)
			}
		})
	}
}

// TestExecPassesContext checks the command runs under the context Main gives it (the signal context), so a
// SIGTERM reaches a serving command.
func TestExecPassesContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code := Exec(ctx, "prog", nil, io.Discard, Command{Name: "serve", Run: func(ctx context.Context, _ []string) error {
		return ctx.Err()
	}})
	if code != 1 {
		t.Fatalf("exit code %d, want 1 from a cancelled context", code)
	}
}
