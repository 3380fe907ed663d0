// Package config fills a service's configuration from command-line flags and environment variables, where
// each flag's variable name derives from the flag: `--data-dir` is `CUS_DATA_DIR`. A flag given on the command
// line wins over the environment, which wins over the default. Bad values stop the process with a message
// naming the flag and the variable.
//
// It also owns the programs' main(): Main picks the subcommand (serve by default), runs it under a context
// that SIGINT and SIGTERM cancel, and turns its error into a message on stderr and exit status 1 (main.go).
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"
)

// Prefix of every environment variable of the suite.
const Prefix = "CUS_"

// EnvName is the environment variable of a flag: "data-dir" -> "CUS_DATA_DIR".
func EnvName(flagName string) string {
	return Prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then sets every flag not given on the command line from its environment variable
// when that is set. getenv is os.Getenv in production and a map lookup in tests.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		env := EnvName(f.Name)
		if v := getenv(env); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("invalid value %q for %s (flag --%s): %w", v, env, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// Usage writes each flag with its environment variable, so operators see both names.
func Usage(fs *flag.FlagSet) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage of %s:\n", fs.Name())
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(w, "  --%s (env %s, default %q)\n      %s\n", f.Name, EnvName(f.Name), f.DefValue, f.Usage)
		})
	}
}

// Checker collects validation failures of a configuration, each naming its setting.
type Checker struct{ errs []error }

// Fail records that flag has a bad value.
func (c *Checker) Fail(flagName, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("--%s (%s): %s", flagName, EnvName(flagName), fmt.Sprintf(format, args...)))
}

// Addr checks a host:port listen address.
func (c *Checker) Addr(flagName, value string) {
	if _, port, err := net.SplitHostPort(value); err != nil || port == "" {
		c.Fail(flagName, "%q is not a host:port address", value)
	}
}

// Positive checks a duration above zero.
func (c *Checker) Positive(flagName string, d time.Duration) {
	if d <= 0 {
		c.Fail(flagName, "must be above zero, got %s", d)
	}
}

// NonEmpty checks a required string.
func (c *Checker) NonEmpty(flagName, value string) {
	if strings.TrimSpace(value) == "" {
		c.Fail(flagName, "must not be empty")
	}
}

// Range checks an integer bound.
func (c *Checker) Range(flagName string, v, lo, hi int) {
	if v < lo || v > hi {
		c.Fail(flagName, "must be between %d and %d, got %d", lo, hi, v)
	}
}

// Err returns every failure joined, or nil.
func (c *Checker) Err() error { return errors.Join(c.errs...) }
